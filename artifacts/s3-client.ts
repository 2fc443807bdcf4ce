import type { Agent } from 'node:http';
import { Client } from 'minio';
import { InvalidArtifactLocationError } from './manifest';

/** How to reach an S3 API endpoint (MinIO, AWS S3, SeaweedFS). */
export interface S3Settings {
  /** http(s)://host[:port], without a path. */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

/** A client of the `minio` library for `settings`; the endpoint is checked first, with a message saying what is wrong. */
export function s3Client(settings: S3Settings, extra: { partSize?: number; transportAgent?: Agent } = {}): Client {
  let url: URL;
  try {
    url = new URL(settings.endpoint);
  } catch {
    throw new InvalidArtifactLocationError(`S3 endpoint '${settings.endpoint}': expected a URL such as http://127.0.0.1:9000`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || (url.pathname !== '/' && url.pathname !== '')) {
    throw new InvalidArtifactLocationError(
      `S3 endpoint '${settings.endpoint}': expected http(s)://host[:port] without a path, such as http://127.0.0.1:9000`,
    );
  }
  const useSSL = url.protocol === 'https:';
  return new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: settings.accessKey,
    secretKey: settings.secretKey,
    region: settings.region,
    ...extra,
  });
}
