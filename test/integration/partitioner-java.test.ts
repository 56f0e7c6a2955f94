// The partitioner against the real thing: the Java client's Utils.murmur2 from the
// kafka-clients jar the local broker runs on, for random order-id and unicode keys.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { murmur2String, partitionFor } from '../../src/kafka/partitioner.js';
import { nativeMurmur2 } from '../../src/native/index.js';

const libs = join(process.cwd(), '.infra/kafka-libs');

it('matches org.apache.kafka.common.utils.Utils.murmur2 byte for byte', () => {
  const jar = readdirSync(libs).find((f) => /^kafka-clients-.*\.jar$/.test(f));
  expect(jar).toBeDefined();
  const dir = mkdtempSync(join(tmpdir(), 'murmur-'));
  writeFileSync(
    join(dir, 'Murmur.java'),
    `import org.apache.kafka.common.utils.Utils;
     import java.nio.charset.StandardCharsets;
     import java.io.*;
     public class Murmur { public static void main(String[] a) throws Exception {
       BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
       StringBuilder out = new StringBuilder(); String line;
       while ((line = in.readLine()) != null) {
         int h = Utils.murmur2(line.getBytes(StandardCharsets.UTF_8));
         out.append(h).append(' ').append(Utils.toPositive(h) % 6).append('\\n');
       }
       System.out.print(out);
     } }`,
  );
  const keys: string[] = [];
  for (let i = 0; i < 2000; i++) keys.push(String(Math.floor(Math.random() * Number.MAX_SAFE_INTEGER)).slice(0, 1 + (i % 16)));
  keys.push('héllo wörld', 'ключ', '注文-42', '🍕order');
  const out = execFileSync('java', ['-cp', `${libs}/*`, join(dir, 'Murmur.java')], { input: keys.join('\n') + '\n' }).toString().trim().split('\n');
  expect(out).toHaveLength(keys.length);
  keys.forEach((key, i) => {
    const [hash, partition] = out[i]!.split(' ').map(Number);
    expect(murmur2String(key), key).toBe(hash);
    expect(nativeMurmur2(key), key).toBe(hash);
    expect(partitionFor(key, 6), key).toBe(partition);
  });
});
