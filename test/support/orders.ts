// Order request bodies and HTTP helpers shared by the integration tests.
export interface OrderBody {
  customerId: number;
  items: { productCode: string; quantity: number; productPrice: number }[];
  deliveryAddress: Record<string, string | null>;
}

export function orderBody(overrides: Partial<OrderBody> = {}): OrderBody {
  return {
    customerId: 1 + Math.floor(Math.random() * 1_000_000),
    items: [
      { productCode: 'P001', quantity: 2, productPrice: 10.5 },
      { productCode: 'p002', quantity: 1, productPrice: 3 },
    ],
    deliveryAddress: { addressLine1: '1 Main Street', addressLine2: null, city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' },
    ...overrides,
  };
}

export interface HttpResult {
  readonly status: number;
  readonly contentType: string;
  readonly location: string | null;
  readonly text: string;
  readonly json: any;
}

export async function http(baseUrl: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' || body instanceof Uint8Array ? (body as string) : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(baseUrl + path, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', location: res.headers.get('location'), text, json };
}
