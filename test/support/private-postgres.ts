// The private Postgres cluster of scripts/pg-private.sh (its own data folder and
// port), which a test may stop and start to simulate a database outage; the
// machine's own cluster on 5432 is shared and never stopped.
import { execFile } from 'node:child_process';
import pg from 'pg';

export interface PrivatePostgresOptions {
  readonly port: number;
  readonly dataDir: string;
  /** The repository whose scripts/ to use (default: this process's directory). */
  readonly repoDir?: string;
}

/** Drops the database of `url` if it exists (closing its connections) and creates it empty, on any cluster. */
export async function recreateDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: url.replace(/\/[^/?]+(\?.*)?$/, '/postgres') });
  await admin.connect();
  try {
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
}

export class PrivatePostgres {
  readonly #options: PrivatePostgresOptions;

  constructor(options: PrivatePostgresOptions) {
    this.#options = options;
  }

  /** The URL of `database` on this cluster. */
  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.#options.port}/${database}`;
  }

  /** Starts the cluster (initdb on first use); resolves when it accepts connections. */
  start(): Promise<void> {
    return this.#script('start');
  }

  /** A clean, fast shutdown (`pg_ctl stop -m fast`): connections are cut, the server goes away. */
  stop(): Promise<void> {
    return this.#script('stop');
  }

  /** An immediate shutdown, as a crashed server (`pg_ctl stop -m immediate`). */
  crash(): Promise<void> {
    return this.#script('crash');
  }

  /** Drops `database` if it exists (closing its connections) and creates it empty. */
  async recreateDatabase(database: string): Promise<void> {
    await recreateDatabase(this.url(database));
  }

  #script(command: 'start' | 'stop' | 'crash'): Promise<void> {
    const env = { ...process.env, PG_PRIVATE_PORT: String(this.#options.port), PG_PRIVATE_DIR: this.#options.dataDir };
    return new Promise((resolve, reject) =>
      execFile('bash', ['scripts/pg-private.sh', command], { env, cwd: this.#options.repoDir ?? process.cwd() }, (err, _stdout, stderr) =>
        err ? reject(new Error(`pg-private.sh ${command} failed: ${err.message}\n${stderr}`)) : resolve(),
      ),
    );
  }
}
