/**
 * The decoded shapes of the messages the server reads, as @grpc/proto-loader produces them with
 * PROTO_LOADER_OPTIONS (defaults filled in, 64-bit integers as numbers, oneof names set).
 */

export interface InferParameterMessage {
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
  bool_param?: boolean;
  int64_param?: number;
  string_param?: string;
  double_param?: number;
  uint64_param?: number;
}

export interface InferTensorContentsMessage {
  bool_contents: boolean[];
  int_contents: number[];
  int64_contents: number[];
  uint_contents: number[];
  uint64_contents: number[];
  fp32_contents: number[];
  fp64_contents: number[];
  bytes_contents: Buffer[];
}

export interface ModelInferRequestMessage {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, InferParameterMessage>;
  inputs: Array<{
    name: string;
    datatype: string;
    shape: number[];
    parameters: Record<string, InferParameterMessage>;
    contents: InferTensorContentsMessage | null;
  }>;
  outputs: Array<{ name: string; parameters: Record<string, InferParameterMessage> }>;
  raw_input_contents: Buffer[];
}

export interface ModelRequestMessage {
  name: string;
  version: string;
}

export interface RepositoryIndexRequestMessage {
  repository_name: string;
  ready: boolean;
}

export interface SystemSharedMemoryRegisterMessage {
  name: string;
  key: string;
  offset: number;
  byte_size: number;
}

/** SystemSharedMemoryStatusRequest and SystemSharedMemoryUnregisterRequest: an empty name means every region. */
export interface SystemSharedMemoryNameMessage {
  name: string;
}

/** RepositoryModelLoadRequest and RepositoryModelUnloadRequest (the same fields). */
export interface RepositoryModelRequestMessage {
  repository_name: string;
  model_name: string;
  parameters: Record<string, { parameter_choice?: string }>;
}
