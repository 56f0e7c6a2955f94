// Which commit a checkout is at, and whether its working tree differs from it.
import { execFileSync } from 'node:child_process';

export function gitInfo(dir: string): { commit: string; dirty: boolean | undefined } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain'], { cwd: dir, encoding: 'utf8' });
    return { commit, dirty: status.trim() !== '' };
  } catch {
    return { commit: 'unknown (not a git checkout)', dirty: undefined };
  }
}
