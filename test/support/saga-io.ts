// What a test of the stream engine alone needs: a producer standing in for the payment
// and inventory participants, and a reader of `orders` from its end (only what this
// test file's run adds), opened before the file's tests and closed after them.
import { afterAll, beforeAll } from 'vitest';
import { DeliveringProducer, type OutgoingRecord } from '../../src/kafka/producer.js';
import { KAFKA_BOOTSTRAP_SERVERS } from './env.js';
import { TopicReader } from './topic-reader.js';

export interface SagaIo {
  readonly producer: DeliveringProducer;
  readonly orders: TopicReader;
}

export function sagaIo(clientId: string, deliveryTimeoutMs = 30_000): SagaIo {
  let producer: DeliveringProducer | undefined;
  let orders: TopicReader | undefined;
  beforeAll(async () => {
    producer = await DeliveringProducer.connect({ brokers: KAFKA_BOOTSTRAP_SERVERS, clientId, deliveryTimeoutMs });
    orders = await TopicReader.fromEnd('orders');
  });
  afterAll(async () => {
    await orders?.close();
    await producer?.close();
  });
  return {
    get producer() {
      if (producer === undefined) throw new Error('sagaIo: used outside a test');
      return producer;
    },
    get orders() {
      if (orders === undefined) throw new Error('sagaIo: used outside a test');
      return orders;
    },
  };
}

/** A participant's answer: the OrderDto with its status (ACCEPT/REJECT) and source. */
export function answerDto(orderId: number, status: string, source: string, customerId = 1 + (orderId % 100)): Buffer {
  return Buffer.from(JSON.stringify({ orderId, customerId, status, source, items: [{ itemId: orderId + 1, productId: 'P001', quantity: 1, productPrice: 10.0 }] }));
}

/** Both participants' answers for an order. */
export function answers(orderId: number, payment = 'ACCEPT', stock = 'ACCEPT'): OutgoingRecord[] {
  return [
    { topic: 'payment-orders', key: String(orderId), value: answerDto(orderId, payment, 'PAYMENT') },
    { topic: 'stock-orders', key: String(orderId), value: answerDto(orderId, stock, 'INVENTORY') },
  ];
}
