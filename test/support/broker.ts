// A Kafka broker that a test owns and may kill: the project's own script
// (scripts/infra-up.sh) in a folder and on ports of the test's choosing, so killing
// it never touches the integration tests' broker or a developer's. `start` wipes its
// data (every run begins empty); `kill` is a `kill -9`; `restart` starts it again on
// the data it had, as a crashed broker comes back.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { TEST_KAFKA_JVM_OPTS } from './env.js';
import { waitFor } from './wait.js';

export interface BrokerOptions {
  /** Holds kafka/data, kafka/broker.log and kafka/broker.pid. */
  readonly infraDir: string;
  readonly port: number;
  readonly controllerPort: number;
  /** The repository whose scripts/ and infra/ to use (default: this process's directory). */
  readonly repoDir?: string;
  /** More of infra-up.sh's environment: a node of a cluster (KAFKA_NODE_ID, ...; see kafka-cluster.ts). */
  readonly env?: Readonly<Record<string, string>>;
}

function run(script: string, env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('bash', [script], { env, cwd, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${script} failed: ${err.message}\n${stderr}`)) : resolve(stdout + stderr),
    ),
  );
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
export function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export class KafkaBroker {
  readonly bootstrapServers: string;
  readonly #options: BrokerOptions;
  readonly #repoDir: string;

  constructor(options: BrokerOptions) {
    this.#options = options;
    this.#repoDir = options.repoDir ?? process.cwd();
    this.bootstrapServers = `127.0.0.1:${options.port}`;
  }

  get #kafkaDir(): string {
    return join(this.#options.infraDir, 'kafka');
  }

  get logFile(): string {
    return join(this.#kafkaDir, 'broker.log');
  }

  /** The broker's process id, if one is running from this folder. */
  get pid(): number | undefined {
    const file = join(this.#kafkaDir, 'broker.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
  }

  /**
   * Starts a broker with no data (one left running from this folder is killed first).
   * Refuses a port that something else holds: infra-up.sh takes an open port for a
   * broker already up, and a test would then run against a stranger's broker and data
   * (one left by a test process that died before its afterAll, say).
   */
  async start(): Promise<void> {
    await this.kill();
    for (const port of [this.#options.port, this.#options.controllerPort]) {
      if (await portTaken(port)) {
        throw new Error(`port ${port} is taken by another process (a broker left by an earlier run? see \`ss -ltnp | grep :${port}\`): this test's broker needs it`);
      }
    }
    rmSync(join(this.#kafkaDir, 'data'), { recursive: true, force: true });
    await this.restart();
  }

  /** Starts the broker on the data it has; resolves when its port accepts connections. */
  async restart(): Promise<void> {
    await run('scripts/infra-up.sh', this.#env(), this.#repoDir);
  }

  /** `kill -9`, as a crashed broker; resolves when the process is gone. */
  async kill(): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) return;
    process.kill(pid, 'SIGKILL');
    await waitFor('the broker process to end', () => (alive(pid) ? undefined : true), 30_000);
  }

  #env(): NodeJS.ProcessEnv {
    const { infraDir, port, controllerPort } = this.#options;
    // infra-up.sh also makes sure the machine's Postgres and a database exist; point
    // that at the postgres database, which always does, so it changes nothing.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ORDER_ENGINE_INFRA_DIR: infraDir,
      KAFKA_PORT: String(port),
      KAFKA_CONTROLLER_PORT: String(controllerPort),
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
      KAFKA_JVM_OPTS: TEST_KAFKA_JVM_OPTS,
      ...this.#options.env,
    };
    delete env.TEST_DATABASE_URL;
    return env;
  }
}
