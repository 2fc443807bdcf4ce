/** One file of a model repository. */
export interface RepositoryFile {
  /** Path relative to the repository root, '/'-separated: `<model>/config.json`, `<model>/<version>/model.onnx`. */
  key: string;
  size: number;
  /**
   * Changes whenever the content may have changed: size and mtime on a local disk, size and ETag in an
   * object store (where a rewrite keeps no mtime of its own and same-size rewrites are the usual case).
   */
  stamp: string;
}

/**
 * Where a model repository lives. The layout is the interface: any storage that can list the files
 * under the root and read one serves as a repository.
 */
export interface RepositorySource {
  readonly uri: string;
  /** The files of each model directory: `<model>/config.pbtxt` or `config.json`, and `<model>/<version>/*`. */
  listFiles(): Promise<RepositoryFile[]>;
  readFile(key: string): Promise<Buffer>;
  /** A path onnxruntime can open directly, when the repository is on this machine. */
  localPath(key: string): string | undefined;
  close(): Promise<void>;
}
