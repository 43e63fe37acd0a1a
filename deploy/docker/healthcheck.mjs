// The image's HEALTHCHECK: healthy when jetserve's REST port answers KServe's readiness endpoint
// (/v2/health/ready: 200 once every model has a version AVAILABLE). No curl in the slim image.
const port = process.env.REST_API_PORT || '8501';
const timer = setTimeout(() => process.exit(1), 2500);
fetch(`http://127.0.0.1:${port}/v2/health/ready`).then(
  (r) => process.exit(r.ok ? 0 : 1),
  () => process.exit(1),
).finally(() => clearTimeout(timer));
