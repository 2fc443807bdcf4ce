/**
 * The load generator, run as its own process (bench/serving/load.ts forks it) so the server under test
 * never shares an event loop with its client. HTTP goes over raw keep-alive sockets with the request
 * bytes prepared once (as autocannon does, but timing each response in microseconds: autocannon's
 * histogram counts whole milliseconds); gRPC goes as HTTP/2 streams on one connection, also prepared once.
 */
import http2 from 'node:http2';
import net from 'node:net';
import { loadInferenceService } from '../../serving/grpc/grpc-proto';
import type { LoadResult, LoadSpec } from './load-protocol';

class Recorder {
  private latencies = new Float64Array(1 << 16);
  count = 0;
  errors = 0;
  recording = false;
  firstError: string | undefined;

  record(ms: number): void {
    if (!this.recording) return;
    if (this.count === this.latencies.length) {
      const bigger = new Float64Array(this.latencies.length * 2);
      bigger.set(this.latencies);
      this.latencies = bigger;
    }
    this.latencies[this.count++] = ms;
  }

  fail(message: string): void {
    if (!this.recording) return;
    this.errors++;
    this.firstError ??= message;
  }

  result(seconds: number, clientCores: number): LoadResult {
    const sorted = this.latencies.slice(0, this.count).sort();
    const at = (p: number) => (this.count === 0 ? NaN : sorted[Math.min(this.count - 1, Math.ceil((p / 100) * this.count) - 1)]!);
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      completed: this.count,
      errors: this.errors,
      seconds,
      rps: this.count / seconds,
      p50Ms: at(50),
      p99Ms: at(99),
      meanMs: this.count ? sum / this.count : NaN,
      clientCores,
      ...(this.firstError ? { firstError: this.firstError } : {}),
    };
  }
}

/** One keep-alive connection sending the same request again and again, one at a time. */
function httpConnection(spec: Extract<LoadSpec, { kind: 'http' }>, payload: Buffer, rec: Recorder, running: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(spec.port, '127.0.0.1');
    socket.setNoDelay(true);
    let buffered: Buffer = Buffer.alloc(0);
    let sentAt = 0;
    const send = () => {
      if (!running()) {
        socket.end();
        resolve();
        return;
      }
      sentAt = performance.now();
      socket.write(payload);
    };
    socket.on('connect', send);
    socket.on('error', (err) => {
      rec.fail(err.message);
      resolve();
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      for (;;) {
        const headerEnd = buffered.indexOf('\r\n\r\n');
        if (headerEnd < 0) return;
        const head = buffered.toString('latin1', 0, headerEnd);
        const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        const length = match ? Number(match[1]) : 0;
        const total = headerEnd + 4 + length;
        if (buffered.length < total) return;
        const status = Number(head.slice(9, 12));
        if (status === 200) rec.record(performance.now() - sentAt);
        else rec.fail(`HTTP ${status}: ${buffered.toString('utf8', headerEnd + 4, Math.min(total, headerEnd + 204))}`);
        buffered = buffered.subarray(total);
        send();
      }
    });
  });
}

async function runHttp(spec: Extract<LoadSpec, { kind: 'http' }>, rec: Recorder, running: () => boolean): Promise<void> {
  const body = Buffer.from(spec.bodyBase64, 'base64');
  const headers = Object.entries({ ...spec.headers, 'Content-Length': String(body.length) })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const payload = Buffer.concat([Buffer.from(`POST ${spec.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`, 'latin1'), body]);
  await Promise.all(Array.from({ length: spec.concurrency }, () => httpConnection(spec, payload, rec, running)));
}

/**
 * gRPC unary calls written as HTTP/2 streams by hand, with the length-prefixed request message encoded
 * once: the figure is the server's, and @grpc/grpc-js as a client spends about 0.5 ms of CPU per call
 * here, as much as the server, which on a 2-core machine shows up as the server's latency (ghz and
 * Triton's perf_analyzer likewise pre-encode requests). A call succeeds on grpc-status 0 with a
 * response message.
 */
async function runGrpc(spec: Extract<LoadSpec, { kind: 'grpc' }>, rec: Recorder, running: () => boolean): Promise<void> {
  const method = loadInferenceService().service['ModelInfer']!;
  const message = method.requestSerialize({ ...spec.request, raw_input_contents: spec.rawInputsBase64.map((b) => Buffer.from(b, 'base64')) });
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  const session = http2.connect(`http://${spec.address}`);
  session.on('error', (err) => rec.fail(err.message));
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  const headers = {
    ':method': 'POST',
    ':path': method.path,
    'content-type': 'application/grpc',
    te: 'trailers',
  };
  const call = (): Promise<void> =>
    new Promise((resolve) => {
      const sentAt = performance.now();
      const stream = session.request(headers);
      let status: string | undefined;
      let message = '';
      let received = 0;
      const takeStatus = (h: http2.IncomingHttpHeaders) => {
        if (h['grpc-status'] !== undefined) {
          status = String(h['grpc-status']);
          message = String(h['grpc-message'] ?? '');
        }
      };
      stream.on('response', takeStatus);
      stream.on('trailers', takeStatus);
      stream.on('data', (chunk: Buffer) => (received += chunk.length));
      stream.on('error', (err) => {
        status ??= 'stream error';
        message = err.message;
      });
      stream.on('close', () => {
        if (status === '0' && received > 5) rec.record(performance.now() - sentAt);
        else rec.fail(`gRPC ${status ?? 'no status'}: ${decodeURIComponent(message)}`);
        resolve();
      });
      stream.end(frame);
    });
  const loop = async () => {
    while (running()) await call();
  };
  await Promise.all(Array.from({ length: spec.concurrency }, loop));
  session.close();
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const rec = new Recorder();
  let active = true;
  const running = () => active;
  const load = spec.kind === 'http' ? runHttp(spec, rec, running) : runGrpc(spec, rec, running);
  await new Promise((r) => setTimeout(r, spec.warmupMs));
  rec.recording = true;
  process.send!('measuring');
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, spec.durationMs));
  rec.recording = false;
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - started) / 1000;
  active = false;
  await load;
  return rec.result(seconds, (cpu.user + cpu.system) / 1e6 / seconds);
}

process.once('message', (spec: LoadSpec) => {
  run(spec).then(
    (result) => process.send!(result, () => process.exit(0)),
    (err: unknown) => {
      process.stderr.write(`load client failed: ${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
});
