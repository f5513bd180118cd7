// The image's HEALTHCHECK: exit 0 when GATEHOUSE_HEALTH_URL (default: the
// router's readiness endpoint) answers 2xx within 2 s, else 1. Each service of
// docker-compose.yml sets the URL for its role; no curl in the image needed.
const url = process.env.GATEHOUSE_HEALTH_URL ?? 'http://127.0.0.1:9081/ready';
try {
  const reply = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  process.exit(reply.ok ? 0 : 1);
} catch {
  process.exit(1);
}
