import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../src/config.ts';

/**
 * The service as a shop runs it (`cli/serve.ts`, what `npm start` serves), in a process of its
 * own, for benches that time it over HTTP: its heap and event loop hold only the service, not
 * the bench's catalog, its client or its in-process measures. A data folder with nothing
 * indexed gets the demo catalog, as `npm start` does.
 */
export interface ServiceProcess {
  url: string;
  child: ChildProcess;
  /** SIGTERM, then waits for the exit (at most 5 s). */
  stop(): Promise<void>;
}

/** `args`: the command's options (`--no-index`: serve what is indexed in `dataDir`). */
export async function startService(
  env: NodeJS.ProcessEnv,
  dataDir: string,
  args: string[] = [],
): Promise<ServiceProcess> {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'cli/serve.ts'), ...args],
    {
      cwd: ROOT,
      env: { ...env, SHELF_DATA_DIR: dataDir, PORT: '0', SHELF_HOST: '127.0.0.1', SHELF_CONSUMER: 'inline' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => {
      child.once('exit', () => r());
      setTimeout(r, 5000).unref();
    });
    child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) resolve({ url: m[1]!, child, stop });
    });
    child.on('exit', (code) => reject(new Error(`the service exited (${code}) before listening: ${err.slice(-2000)}`)));
  });
}
