import type pg from 'pg';
import { dbError } from '../db/pool.js';
import type { CatalogAnswer, ProductCatalog } from './catalog.js';

/** The built-in catalog: the catalog_products table, seeded by the migrations. */
export class DbCatalog implements ProductCatalog {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async check(codes: readonly string[]): Promise<CatalogAnswer> {
    try {
      const { rows } = await this.#pool.query<{ code: string }>(
        'select c as code from unnest($1::text[]) as c where not exists (select 1 from catalog_products p where p.code = c)',
        [codes],
      );
      return rows.length === 0 ? { exists: true } : { exists: false, unknown: rows.map((r) => r.code) };
    } catch (err) {
      throw dbError(err, 'catalog check');
    }
  }
}
