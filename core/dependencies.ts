/**
 * A server the service depends on (Elasticsearch, Qdrant, Kafka, Redis). Start-up checks every
 * configured one and refuses to start when one is unreachable; `/readyz` reports each of them.
 */
export interface Dependency {
  /** "elasticsearch", "qdrant", "kafka", "redis", or "embedded-index" and the like. */
  readonly name: string;
  /** Resolves with a short detail (version, cluster name) when reachable; throws otherwise. */
  check(): Promise<string>;
}

export interface DependencyStatus {
  name: string;
  ok: boolean;
  detail: string;
  took_ms: number;
}

export async function checkDependencies(deps: readonly Dependency[], timeoutMs = 2000): Promise<DependencyStatus[]> {
  return Promise.all(
    deps.map(async (d) => {
      const t0 = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        const detail = await Promise.race([
          d.check(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return { name: d.name, ok: true, detail, took_ms: performance.now() - t0 };
      } catch (err) {
        return { name: d.name, ok: false, detail: (err as Error).message, took_ms: performance.now() - t0 };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}

/**
 * A dependency's detail with the locations in it (URLs, file-system paths) replaced, for
 * unauthenticated answers such as `/readyz`: what is up and which version, not where it lives.
 */
export function withoutLocations(detail: string): string {
  return detail
    .replace(/\b[a-z][\w+.-]*:\/\/[^\s,;)'"]+/gi, '<url>')
    .replace(/\b[a-z]:\\[^\s,;:)'"]*/gi, '<path>')
    .replace(/(^|[^\w.:/~-])~?\/[^\s,;:)'"]*/g, '$1<path>');
}

export class DependencyError extends Error {}

/** Fails fast, naming every configured server that did not answer and how it failed. */
export async function requireDependencies(deps: readonly Dependency[], timeoutMs = 5000): Promise<DependencyStatus[]> {
  const status = await checkDependencies(deps, timeoutMs);
  const down = status.filter((s) => !s.ok);
  if (down.length > 0) {
    throw new DependencyError(`unreachable: ${down.map((s) => `${s.name} (${s.detail})`).join('; ')}`);
  }
  return status;
}
