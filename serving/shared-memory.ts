import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ServingError } from './errors';

/** Where a tensor lives in a registered region (Triton's shared_memory_* tensor parameters). */
export interface SharedMemoryRef {
  region: string;
  byteSize: number;
  offset: number;
}

/** Triton's status entry of one region. */
export interface RegionStatus {
  name: string;
  key: string;
  offset: number;
  byte_size: number;
}

interface Region {
  key: string;
  offset: number;
  byteSize: number;
  fd: number;
}

/** POSIX shared memory names: one component, as shm_open takes them (a leading slash is usual). */
const SHM_KEY = /^\/?[A-Za-z0-9._-]+$/;

/**
 * Triton's system shared memory extension: clients on the same host register POSIX shared memory
 * regions (shm_open keys, which Linux keeps as files in /dev/shm), then name them in place of tensor
 * data, and the server reads inputs from and writes outputs to them. The regions are read and written
 * through their file descriptors, a copy each way, which is what the extension saves the client
 * (no serialization and no transfer through the socket).
 */
export class SystemSharedMemory {
  private readonly regions = new Map<string, Region>();

  constructor(private readonly root = '/dev/shm') {}

  register(name: string, key: string, offset: number, byteSize: number): void {
    if (this.regions.has(name)) throw new ServingError('invalid_argument', `shared memory region '${name}' is already registered`);
    if (!SHM_KEY.test(key) || key === '/.' || key === '/..' || key === '.' || key === '..') {
      throw new ServingError('invalid_argument', `shared memory key '${key}' is not a POSIX shared memory name (expected /name)`);
    }
    if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(byteSize) || byteSize < 1) {
      throw new ServingError('invalid_argument', `shared memory region '${name}': offset and byte_size must be whole numbers, byte_size at least 1`);
    }
    const file = path.join(this.root, key.replace(/^\//, ''));
    let fd: number;
    try {
      fd = openSync(file, 'r+');
    } catch (err) {
      throw new ServingError('invalid_argument', `shared memory region '${name}': cannot open key '${key}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const size = fstatSync(fd).size;
    if (offset + byteSize > size) {
      closeSync(fd);
      throw new ServingError('invalid_argument', `shared memory region '${name}': offset ${offset} + byte_size ${byteSize} exceeds the ${size} bytes of key '${key}'`);
    }
    this.regions.set(name, { key, offset, byteSize, fd });
  }

  /** Unregisters one region, or every region when no name is given; an unknown name does nothing. */
  unregister(name?: string): void {
    const names = name === undefined ? [...this.regions.keys()] : [name];
    for (const n of names) {
      const region = this.regions.get(n);
      if (!region) continue;
      closeSync(region.fd);
      this.regions.delete(n);
    }
  }

  status(name?: string): RegionStatus[] {
    if (name !== undefined && !this.regions.has(name)) throw new ServingError('not_found', `no shared memory region '${name}' is registered`);
    return [...this.regions]
      .filter(([n]) => name === undefined || n === name)
      .map(([n, r]) => ({ name: n, key: r.key, offset: r.offset, byte_size: r.byteSize }));
  }

  /** The bytes of a tensor the client put in shared memory. */
  read(ref: SharedMemoryRef, what: string): Buffer {
    const region = this.resolve(ref, what);
    const out = Buffer.allocUnsafe(ref.byteSize);
    const read = readSync(region.fd, out, 0, ref.byteSize, region.offset + ref.offset);
    if (read !== ref.byteSize) throw new ServingError('invalid_argument', `${what}: shared memory region '${ref.region}' holds ${read} of the ${ref.byteSize} bytes`);
    return out;
  }

  /** Writes an output tensor where the client asked for it; it must fit the byte size it gave. */
  write(ref: SharedMemoryRef, data: Uint8Array, what: string): void {
    const region = this.resolve(ref, what);
    if (data.byteLength > ref.byteSize) {
      throw new ServingError('invalid_argument', `${what}: ${data.byteLength} bytes do not fit the ${ref.byteSize} bytes given in shared memory region '${ref.region}'`);
    }
    writeSync(region.fd, data, 0, data.byteLength, region.offset + ref.offset);
  }

  private resolve(ref: SharedMemoryRef, what: string): Region {
    const region = this.regions.get(ref.region);
    if (!region) throw new ServingError('invalid_argument', `${what}: no shared memory region '${ref.region}' is registered`);
    if (ref.offset + ref.byteSize > region.byteSize) {
      throw new ServingError(
        'invalid_argument',
        `${what}: offset ${ref.offset} + byte size ${ref.byteSize} runs past the ${region.byteSize} bytes of shared memory region '${ref.region}'`,
      );
    }
    return region;
  }
}

/**
 * A tensor's shared memory reference from its parameters (region name, byte size, optional offset),
 * or undefined when the tensor does not use shared memory.
 */
export function sharedMemoryRef(parameters: Record<string, unknown> | undefined, what: string): SharedMemoryRef | undefined {
  const region = parameters?.['shared_memory_region'];
  if (region === undefined) return undefined;
  const byteSize = parameters?.['shared_memory_byte_size'];
  const offset = parameters?.['shared_memory_offset'] ?? 0;
  if (typeof region !== 'string' || region === '') throw new ServingError('invalid_argument', `${what}: shared_memory_region must be a region name`);
  if (typeof byteSize !== 'number' || !Number.isInteger(byteSize) || byteSize < 0) {
    throw new ServingError('invalid_argument', `${what}: shared_memory_byte_size must be a whole number of bytes`);
  }
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) {
    throw new ServingError('invalid_argument', `${what}: shared_memory_offset must be a whole number of bytes`);
  }
  return { region, byteSize, offset };
}

/**
 * Triton's CUDA shared memory extension, answered as a Triton built without GPU support: no region
 * can be registered, so there are none to report, and unregistering any (or all) succeeds.
 */
export const cudaSharedMemory = {
  status(name?: string): RegionStatus[] {
    if (name !== undefined) throw new ServingError('not_found', `no CUDA shared memory region '${name}' is registered`);
    return [];
  },
  register(): never {
    throw new ServingError('invalid_argument', 'CUDA shared memory is not supported: this server runs models on the CPU');
  },
};
