/**
 * A private PostgreSQL server in a temporary folder, for tests and benchmarks: Debian's
 * `initdb` and `pg_ctl`, a free port on 127.0.0.1 and the unix socket in the folder, stopped
 * and removed by `stop()`.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where Debian installs the server binaries, one folder per major version. */
export const POSTGRES_ROOT = '/usr/lib/postgresql';

/**
 * The `bin` folder of the newest PostgreSQL under {@link POSTGRES_ROOT} that has `initdb`
 * and `pg_ctl` (`AEKIT_POSTGRES_BIN` overrides it), or `undefined` when there is none.
 */
export function findPostgresBin(): string | undefined {
  const given = process.env.AEKIT_POSTGRES_BIN;
  if (given !== undefined) return existsSync(join(given, 'initdb')) ? given : undefined;
  if (!existsSync(POSTGRES_ROOT)) return undefined;
  return readdirSync(POSTGRES_ROOT)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(POSTGRES_ROOT, v, 'bin'))
    .find((bin) => existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl')));
}

/** Options of {@link startTemporaryPostgres}. */
export interface TemporaryPostgresOptions {
  /**
   * Server settings passed as `-c name=value` (e.g. `{ shared_buffers: '1GB' }`). The
   * defaults switch durability off (`fsync`, `synchronous_commit`, `full_page_writes`): the
   * data is thrown away at the end.
   */
  readonly settings?: Readonly<Record<string, string>>;
}

/** A running temporary server. */
export interface TemporaryPostgres {
  /** Connection string of the superuser `postgres` over TCP, without a password. */
  readonly url: string;
  /** The TCP port on 127.0.0.1. */
  readonly port: number;
  /** The folder of its data and socket. */
  readonly dir: string;
  /** Stops the server (fast shutdown) and deletes its folder. */
  stop(): Promise<void>;
}

/** A TCP port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** The uid and gid of the `postgres` account, when there is one. */
function postgresAccount(): { uid: number; gid: number } | undefined {
  const id = (flag: string): number =>
    Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  return Number.isInteger(uid) && uid > 0 ? { uid, gid: id('-g') } : undefined;
}

/**
 * Starts a private PostgreSQL server: `initdb` (superuser `postgres`, trust authentication
 * on the loopback and the socket only) in a new temporary folder, then `pg_ctl start` on a
 * free port. `initdb` refuses to run as root, so as root the server runs as the `postgres`
 * account (Debian's package creates it) through `runuser`.
 *
 * @throws Error when no PostgreSQL binaries are installed (Debian: `postgresql`), or the
 *   server does not start (the message holds its log).
 */
export async function startTemporaryPostgres(
  options: TemporaryPostgresOptions = {},
): Promise<TemporaryPostgres> {
  const bin = findPostgresBin();
  if (bin === undefined) {
    throw new Error(
      `No PostgreSQL server binaries under ${POSTGRES_ROOT}: install them (Debian: apt-get install postgresql).`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'aekit-postgres-'));
  const asRoot = process.getuid?.() === 0;
  const account = asRoot ? postgresAccount() : undefined;
  if (asRoot && account === undefined) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error('initdb refuses to run as root, and there is no postgres account to run it.');
  }
  if (account !== undefined) {
    chmodSync(dir, 0o700);
    chownSync(dir, account.uid, account.gid);
  }
  const exec = (tool: string, args: string[]) =>
    account === undefined
      ? run(join(bin, tool), args)
      : run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]);
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: dir,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    ...options.settings,
  };
  const serverArgs = Object.entries(settings)
    .map(([name, value]) => `-c ${name}=${value}`)
    .join(' ');
  const stop = async (): Promise<void> => {
    if (existsSync(join(data, 'postmaster.pid'))) {
      await exec('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await exec('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--no-locale',
      '--no-sync',
    ]);
    await exec('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', serverArgs, 'start']);
  } catch (err) {
    const output = (err as { stderr?: string }).stderr ?? String(err);
    const serverLog = existsSync(log) ? spawnSync('tail', ['-n', '20', log]).stdout : '';
    await stop();
    throw new Error(`The temporary PostgreSQL server did not start: ${output}\n${serverLog}`);
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, dir, stop };
}
