// k6 load for POST /api/v1/predict with one JPEG as multipart field `file`.
// Closed loop (constant VUs) or open loop (constant arrival rate), chosen by env:
//   MODE=closed VUS=8 DURATION=5s        MODE=open RATE=300 DURATION=10s MAX_VUS=400
// Counts responses by status and records latency per status, so rejections (429) are timed apart.
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';

const image = open(__ENV.IMAGE, 'b');
const boundary = 'zinferbench7MA4YWxkTrZu0gW';
const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
const tail = `\r\n--${boundary}--\r\n`;
function encode(text) {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
const parts = [encode(head), new Uint8Array(image), encode(tail)];
const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
let offset = 0;
for (const p of parts) { body.set(p, offset); offset += p.length; }
const payload = body.buffer;

const byStatus = {
  200: new Counter('status_200'), 429: new Counter('status_429'), 503: new Counter('status_503'),
  504: new Counter('status_504'), other4xx: new Counter('status_other_4xx'),
  other5xx: new Counter('status_other_5xx'), none: new Counter('status_none'),
};
const latency200 = new Trend('latency_200', true);
const latency429 = new Trend('latency_429', true);

const mode = __ENV.MODE || 'closed';
const duration = __ENV.DURATION || '5s';
export const options = {
  discardResponseBodies: true,
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'max', 'count'],
  scenarios: mode === 'open' ? {
    load: {
      executor: 'constant-arrival-rate', rate: Number(__ENV.RATE), timeUnit: '1s', duration,
      preAllocatedVUs: Number(__ENV.PRE_VUS || 64), maxVUs: Number(__ENV.MAX_VUS || 400),
    },
  } : {
    load: { executor: 'constant-vus', vus: Number(__ENV.VUS || 1), duration },
  },
};

const url = `${__ENV.BASE_URL}/api/v1/predict`;
const params = {
  headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
  timeout: __ENV.TIMEOUT || '30s',
};

export default function () {
  const res = http.post(url, payload, params);
  const s = res.status;
  if (s === 200) { byStatus[200].add(1); latency200.add(res.timings.duration); }
  else if (s === 429) { byStatus[429].add(1); latency429.add(res.timings.duration); }
  else if (s === 503 || s === 504) byStatus[s].add(1);
  else if (s >= 400 && s < 500) byStatus.other4xx.add(1);
  else if (s >= 500) byStatus.other5xx.add(1);
  else byStatus.none.add(1);
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY]: JSON.stringify(data) };
}
