import { createHash } from 'node:crypto';
import { ServingError } from './errors';
import { parseLabels } from './classification';
import { CONFIG_FILES, parseModelConfig, type ConfigFileName, type ModelConfig } from './model-config';
import { DEFAULT_MODEL_FILENAME } from './model-signature';
import { ModelVersion } from './model-version';
import type { RepositoryFile, RepositorySource } from './repository-source';
import type { ServingMetrics } from './serving-metrics';
import { DEFAULT_VERSION_POLICY, selectVersions } from './version-policy';
import { isVersionManifest, VersionContentsReader, type VersionContents } from './version-contents';
import { WARMUP_DIR, warmupFileKey, warmupFilesOf } from './warmup-data';

export type VersionState = 'LOADING' | 'READY' | 'UNLOADING' | 'FAILED';

export interface VersionStatus {
  version: number;
  state: VersionState;
  /** Why a version failed, or why a READY one still serves the files loaded before (empty otherwise). */
  reason: string;
}

export type RepositoryEvent =
  | { type: 'loaded'; model: string; version: number; seconds: number }
  | { type: 'load-failed'; model: string; version: number; error: string }
  | { type: 'config-failed'; model: string; error: string }
  | { type: 'config-ignored'; model: string; ignored: string; used: string }
  | { type: 'unloading'; model: string; version: number; reason: string }
  | { type: 'unloaded'; model: string; version: number }
  | { type: 'poll-failed'; error: string };

/**
 * Triton's model control modes: `none` reads the repository once at start; `poll` also re-reads it
 * every pollIntervalMs; `explicit` loads only the startup models, then what load and unload requests
 * name, and reads the repository only for those requests.
 */
export type ModelControlMode = 'none' | 'poll' | 'explicit';

export interface ModelRepositoryOptions {
  /** Triton's default-max-batch-size: used when the model's config leaves max_batch_size out. */
  defaultMaxBatchSize: number;
  controlMode: ModelControlMode;
  /** `poll` mode's interval; 0 reads the repository once, as `none` does. */
  pollIntervalMs: number;
  /** `explicit` mode: the models to load at start (Triton's --load-model); `*` alone loads all. */
  startupModels: readonly string[];
  onEvent: (event: RepositoryEvent) => void;
}

/** An entry of Triton's repository index; models never loaded have an empty version and state. */
export interface RepositoryIndexEntry {
  name: string;
  version: string;
  state: string;
  reason: string;
}

/** Which version of a model a request wants. */
export type VersionSelector = { version: number } | { label: string } | Record<string, never>;

interface Serving {
  mv: ModelVersion;
  fingerprint: string;
}

interface ModelEntry {
  name: string;
  configHash: string | undefined;
  /** The last configuration that parsed (undefined when the model has none). */
  config: ModelConfig | undefined;
  configError: string | undefined;
  /** The config.json last reported as overridden by a config.pbtxt, so the event comes once. */
  ignoredConfigKey: string | undefined;
  serving: Map<number, Serving>;
  loading: Set<number>;
  failed: Map<number, { fingerprint: string; error: string }>;
  unloading: Map<number, number>;
}

interface ModelListing {
  /** The configuration file to read: the first of CONFIG_FILES the directory holds. */
  config: { key: string; file: ConfigFileName } | undefined;
  /** The other configuration file, when the directory holds both. */
  ignoredConfigKey: string | undefined;
  /** Files directly in the model's directory (config files aside), such as label files, and in its warmup/: key -> stamp. */
  modelFiles: Map<string, string>;
  /** version -> files in its directory */
  versions: Map<number, RepositoryFile[]>;
}

const VERSION_DIR = /^[1-9][0-9]{0,15}$/;

function isConfigFile(name: string): name is ConfigFileName {
  return (CONFIG_FILES as readonly string[]).includes(name);
}

function addConfigFile(m: ModelListing, key: string, file: ConfigFileName): void {
  if (m.config && CONFIG_FILES.indexOf(m.config.file) < CONFIG_FILES.indexOf(file)) {
    m.ignoredConfigKey = key;
    return;
  }
  m.ignoredConfigKey = m.config?.key;
  m.config = { key, file };
}

function groupListing(files: readonly RepositoryFile[]): Map<string, ModelListing> {
  const models = new Map<string, ModelListing>();
  const entry = (name: string) => {
    let m = models.get(name);
    if (!m) {
      m = { config: undefined, ignoredConfigKey: undefined, modelFiles: new Map(), versions: new Map() };
      models.set(name, m);
    }
    return m;
  };
  for (const f of files) {
    const parts = f.key.split('/');
    if (parts.length === 2 && isConfigFile(parts[1]!)) addConfigFile(entry(parts[0]!), f.key, parts[1]);
    else if (parts.length === 2 || (parts.length === 3 && parts[1] === WARMUP_DIR)) entry(parts[0]!).modelFiles.set(f.key, f.stamp);
    else if (parts.length === 3 && VERSION_DIR.test(parts[1]!)) {
      const m = entry(parts[0]!);
      const v = Number(parts[1]);
      const list = m.versions.get(v) ?? [];
      list.push(f);
      m.versions.set(v, list);
    } else if (parts.length >= 1) entry(parts[0]!);
  }
  return models;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The models of a Triton-style repository and the versions being served. Polling reconciles it with
 * the repository: a new or changed version is loaded and warmed up while the old one keeps serving,
 * then swapped in; the old one drains before it unloads. A version that fails to load changes nothing
 * that serves. Requests resolve a version and enter its queue in one synchronous step, so a swap
 * never strands a request.
 */
export class ModelRepository {
  private readonly models = new Map<string, ModelEntry>();
  private readonly unloads = new Set<Promise<void>>();
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private initialScanDone = false;
  private stopped = false;
  /** `explicit` mode: the models load requests (or the startup list) asked for, and not unloaded since. */
  private readonly requested = new Set<string>();
  /**
   * `explicit` mode: models unloaded by request, with the versions that served then, which the index
   * reports as UNLOADING while they drain and as UNAVAILABLE ("unloaded") after.
   */
  private readonly unloaded = new Map<string, { entry: ModelEntry; versions: number[] }>();
  /** Model directories the repository held when last read, loaded or not. */
  private listed = new Set<string>();
  private readonly versionContents: VersionContentsReader;

  constructor(
    private readonly source: RepositorySource,
    private readonly options: ModelRepositoryOptions,
    private readonly metrics: ServingMetrics,
  ) {
    this.versionContents = new VersionContentsReader(source);
  }

  get uri(): string {
    return this.source.uri;
  }

  get controlMode(): ModelControlMode {
    return this.options.controlMode;
  }

  /** Loads what the repository holds now (in `explicit` mode, the startup models), then keeps polling. */
  async start(): Promise<void> {
    const { controlMode, startupModels } = this.options;
    const all = startupModels.includes('*');
    if (controlMode === 'explicit' && !all) for (const name of startupModels) this.requested.add(name);
    // Only `poll` mode reads the repository again, so in the others a repository that cannot be
    // listed, or a startup model it lacks, is an error at start rather than a server that serves nothing.
    await this.serialized(() => this.reconcile(controlMode === 'explicit' && all ? 'all' : undefined, controlMode !== 'poll'));
    const missing = [...this.requested].filter((name) => !this.listed.has(name));
    if (missing.length > 0) {
      throw new ServingError('not_found', `--load-model ${missing.map((m) => `'${m}'`).join(', ')}: no such model directory in ${this.source.uri}`);
    }
    this.initialScanDone = true;
    this.schedulePoll();
  }

  /** One reconcile pass, after any pass already running. */
  pollNow(): Promise<void> {
    return this.serialized(() => this.reconcile());
  }

  /**
   * Triton's load request (`explicit` mode): loads the model, or reloads it if its files or config
   * changed, and resolves once it serves; rejects with the reason when no version could be loaded.
   * `parameters` are the names of the request's parameters.
   */
  async loadModel(name: string, parameters: readonly string[] = []): Promise<void> {
    this.requireExplicit('load');
    // Triton's load can override the config and model files inline; here they come from the repository only.
    const override = parameters.find((k) => k === 'config' || k.startsWith('file:'));
    if (override) {
      throw new ServingError('invalid_argument', `load parameter '${override}' is not supported: put the config and model files in the repository`);
    }
    await this.serialized(async () => {
      this.requested.add(name);
      // A load request retries versions that failed before, even with the same files (memory may have
      // been freed, a store may be back).
      this.models.get(name)?.failed.clear();
      await this.reconcile(name);
      if (!this.listed.has(name)) {
        this.requested.delete(name);
        throw new ServingError('not_found', `failed to load '${name}': no model directory '${name}' in ${this.source.uri}`);
      }
      this.unloaded.delete(name);
    });
    // As Triton's, the load fails when any version it should serve did not load or the config is
    // broken, even though whatever served before goes on serving.
    const entry = this.models.get(name);
    const failure = !entry
      ? 'not loaded'
      : (entry.configError ??
        [...entry.failed].map(([v, f]) => `version ${v}: ${f.error}`)[0] ??
        (entry.serving.size === 0 ? this.notReadyReason(entry) : undefined));
    if (failure !== undefined) throw new ServingError('invalid_argument', `failed to load '${name}': ${failure}`);
  }

  /**
   * Triton's unload request (`explicit` mode): the model stops taking requests at once, and, as
   * Triton's, the call answers without waiting for its in-flight requests; the index shows its versions
   * UNLOADING until those have finished and the sessions are closed. Unloading a model that is not
   * loaded does nothing.
   */
  async unloadModel(name: string): Promise<void> {
    this.requireExplicit('unload');
    await this.serialized(async () => {
      this.requested.delete(name);
      const entry = this.models.get(name);
      if (!entry) return;
      this.unloaded.set(name, { entry, versions: this.servingVersions(name) });
      this.models.delete(name);
      for (const [version, s] of [...entry.serving]) this.retire(entry, version, s.mv, 'unloaded by request');
    });
  }

  private requireExplicit(action: 'load' | 'unload'): void {
    if (this.options.controlMode !== 'explicit') {
      throw new ServingError(
        'unavailable',
        `explicit model ${action} is not allowed in model control mode '${this.options.controlMode}' (start the server with --model-control-mode explicit)`,
      );
    }
  }

  private serialized<T>(step: () => Promise<T>): Promise<T> {
    const next = this.chain.then(step);
    this.chain = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  /** Stops polling and drains every version (in-flight requests finish) before closing its sessions. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.chain;
    for (const entry of this.models.values()) {
      for (const [version, s] of [...entry.serving]) this.retire(entry, version, s.mv, 'server shutting down');
    }
    while (this.unloads.size > 0) await Promise.all([...this.unloads]);
    await this.source.close();
  }

  /** Triton's readiness: the first scan finished and every model serves at least one version. */
  get ready(): boolean {
    if (!this.initialScanDone || this.stopped) return false;
    for (const entry of this.models.values()) if (entry.serving.size === 0) return false;
    return true;
  }

  modelNames(): string[] {
    return [...this.models.keys()].sort();
  }

  hasModel(model: string): boolean {
    return this.models.has(model);
  }

  /** Serving versions, highest first. */
  servingVersions(model: string): number[] {
    const entry = this.models.get(model);
    return entry ? [...entry.serving.keys()].sort((a, b) => b - a) : [];
  }

  versionLabels(model: string): Record<string, number> {
    return this.models.get(model)?.config?.version_labels ?? {};
  }

  /**
   * The version that serves a request. Throws not_found for unknown models, versions and labels, and
   * unavailable for versions that exist but are loading or failed.
   */
  resolve(model: string, selector: VersionSelector): ModelVersion {
    const entry = this.models.get(model);
    if (!entry) throw new ServingError('not_found', `unknown model '${model}'`);
    let version: number | undefined;
    if ('label' in selector && selector.label !== undefined) {
      version = entry.config?.version_labels?.[selector.label];
      if (version === undefined) throw new ServingError('not_found', `model '${model}' has no version label '${selector.label}'`);
    } else if ('version' in selector && selector.version !== undefined) {
      version = selector.version;
    }
    if (version === undefined) {
      let latest: ModelVersion | undefined;
      for (const s of entry.serving.values()) if (!latest || s.mv.version > latest.version) latest = s.mv;
      if (!latest) throw new ServingError('unavailable', `model '${model}' is not ready: ${this.notReadyReason(entry)}`);
      return latest;
    }
    const serving = entry.serving.get(version);
    if (serving) return serving.mv;
    if (entry.loading.has(version)) throw new ServingError('unavailable', `version ${version} of model '${model}' is still loading`);
    const failed = entry.failed.get(version);
    if (failed) throw new ServingError('unavailable', `version ${version} of model '${model}' failed to load: ${failed.error}`);
    const available = this.servingVersions(model);
    throw new ServingError(
      'not_found',
      `model '${model}' has no version ${version} being served (serving: ${available.length ? available.join(', ') : 'none'})`,
    );
  }

  /** Every version the repository knows of a model, with its state. */
  status(model: string): VersionStatus[] | undefined {
    const entry = this.models.get(model);
    if (!entry) return undefined;
    const out = new Map<number, VersionStatus>();
    for (const [version, f] of entry.failed) out.set(version, { version, state: 'FAILED', reason: f.error });
    for (const version of entry.unloading.keys()) out.set(version, { version, state: 'UNLOADING', reason: '' });
    for (const version of entry.loading) out.set(version, { version, state: 'LOADING', reason: '' });
    for (const version of entry.serving.keys()) {
      const reload = entry.failed.get(version);
      out.set(version, { version, state: 'READY', reason: reload ? `serving the files loaded before, as reloading failed: ${reload.error}` : '' });
    }
    if (out.size === 0 && entry.configError) return [{ version: 0, state: 'FAILED', reason: entry.configError }];
    return [...out.values()].sort((a, b) => b.version - a.version);
  }

  /**
   * Triton's repository index: every model and version with state and reason, and in `explicit` mode
   * also the models the repository holds that are not loaded; `readyOnly` keeps the READY versions.
   */
  async index(readyOnly = false): Promise<RepositoryIndexEntry[]> {
    if (this.options.controlMode === 'explicit') await this.refreshListing();
    const names = new Set([...this.modelNames(), ...(this.options.controlMode === 'explicit' ? this.listed : [])]);
    const entries = [...names].sort().flatMap((name): RepositoryIndexEntry[] => {
      const status = this.status(name);
      if (!status) {
        const unloaded = this.unloaded.get(name);
        if (!unloaded || unloaded.versions.length === 0) {
          return [{ name, version: '', state: unloaded ? 'UNAVAILABLE' : '', reason: unloaded ? 'unloaded' : '' }];
        }
        return unloaded.versions.map((v) => {
          const draining = unloaded.entry.unloading.has(v);
          return { name, version: String(v), state: draining ? 'UNLOADING' : 'UNAVAILABLE', reason: draining ? '' : 'unloaded' };
        });
      }
      return status.map((s) => ({
        name,
        version: s.version > 0 ? String(s.version) : '',
        state: s.state === 'FAILED' ? 'UNAVAILABLE' : s.state,
        reason: s.reason,
      }));
    });
    return readyOnly ? entries.filter((e) => e.state === 'READY') : entries;
  }

  /**
   * `explicit` mode reads the repository only for loads, so the index reads its model directories
   * afresh (as Triton's does); if that fails, the last listing stands.
   */
  private async refreshListing(): Promise<void> {
    try {
      this.listed = new Set(groupListing(await this.source.listFiles()).keys());
    } catch (err) {
      this.options.onEvent({ type: 'poll-failed', error: `cannot list ${this.source.uri}: ${(err as Error).message}` });
    }
  }

  pendingCounts(): Array<{ model: string; version: number; count: number }> {
    return [...this.models.values()].flatMap((e) =>
      [...e.serving].map(([version, s]) => ({ model: e.name, version, count: s.mv.pending })),
    );
  }

  states(): Array<{ model: string; version: number; state: string }> {
    return this.modelNames().flatMap((model) =>
      (this.status(model) ?? []).filter((s) => s.version > 0).map((s) => ({ model, version: s.version, state: s.state })),
    );
  }

  loadSeconds(): Array<{ model: string; version: number; seconds: number }> {
    return [...this.models.values()].flatMap((e) =>
      [...e.serving].map(([version, s]) => ({ model: e.name, version, seconds: s.mv.loadSeconds })),
    );
  }

  private notReadyReason(entry: ModelEntry): string {
    if (entry.configError) return entry.configError;
    if (entry.loading.size > 0) return 'loading';
    const failure = [...entry.failed.values()][0];
    if (failure) return `failed to load: ${failure.error}`;
    return 'no version directory with a model file';
  }

  private schedulePoll(): void {
    if (this.stopped || this.options.controlMode !== 'poll' || this.options.pollIntervalMs <= 0) return;
    this.timer = setTimeout(() => {
      void this.pollNow().finally(() => this.schedulePoll());
    }, this.options.pollIntervalMs);
    this.timer.unref();
  }

  /**
   * Brings the served models in line with the repository: every model in `none` and `poll` modes (and
   * for `explicit` mode's `*`), otherwise the requested models, or only `only` when a load names it.
   * A repository that cannot be listed is reported and skipped, unless `listingMustSucceed`.
   */
  private async reconcile(only?: string | 'all', listingMustSucceed = false): Promise<void> {
    if (this.stopped) return;
    let files: RepositoryFile[];
    try {
      files = await this.source.listFiles();
    } catch (err) {
      const error = `cannot list ${this.source.uri}: ${(err as Error).message}`;
      this.options.onEvent({ type: 'poll-failed', error });
      if (only !== undefined && only !== 'all') throw new ServingError('unavailable', `failed to load '${only}': ${error}`);
      if (listingMustSucceed) throw new ServingError('unavailable', error);
      return;
    }
    const listing = groupListing(files);
    this.listed = new Set(listing.keys());
    if (only === 'all') for (const name of listing.keys()) this.requested.add(name);
    const explicit = this.options.controlMode === 'explicit';
    const wanted = (name: string) => (only !== undefined && only !== 'all' ? name === only : !explicit || this.requested.has(name));
    for (const [name, entry] of this.models) {
      if (!wanted(name) || listing.has(name)) continue;
      for (const [version, s] of [...entry.serving]) this.retire(entry, version, s.mv, 'model removed from the repository');
      this.models.delete(name);
    }
    await Promise.all([...listing].filter(([name]) => wanted(name)).map(([name, model]) => this.reconcileModel(name, model)));
  }

  private async reconcileModel(name: string, listing: ModelListing): Promise<void> {
    let entry = this.models.get(name);
    if (!entry) {
      entry = {
        name,
        configHash: undefined,
        config: undefined,
        configError: undefined,
        ignoredConfigKey: undefined,
        serving: new Map(),
        loading: new Set(),
        failed: new Map(),
        unloading: new Map(),
      };
      this.models.set(name, entry);
    }
    const configFile = listing.config;
    if (listing.ignoredConfigKey !== entry.ignoredConfigKey) {
      entry.ignoredConfigKey = listing.ignoredConfigKey;
      if (listing.ignoredConfigKey && configFile) {
        this.options.onEvent({ type: 'config-ignored', model: name, ignored: listing.ignoredConfigKey, used: configFile.key });
      }
    }
    let configText = '';
    if (configFile) {
      try {
        configText = (await this.source.readFile(configFile.key)).toString('utf8');
      } catch (err) {
        this.options.onEvent({ type: 'poll-failed', error: `cannot read ${configFile.key}: ${(err as Error).message}` });
        return;
      }
    }
    // The file's name is part of the hash: the same text (an empty file, say) can be valid in one format only.
    const configHash = sha256(`${configFile?.file ?? 'none'}\n${configText}`);
    if (configHash !== entry.configHash) {
      entry.configHash = configHash;
      try {
        entry.config = configFile ? parseModelConfig(name, configText, configFile.file) : undefined;
        entry.configError = undefined;
      } catch (err) {
        entry.configError = (err as Error).message;
        this.options.onEvent({ type: 'config-failed', model: name, error: entry.configError });
      }
    }
    if (entry.configError) {
      // A broken configuration leaves whatever serves untouched, except versions whose files are gone.
      for (const [version, s] of [...entry.serving]) {
        if (!listing.versions.has(version)) this.retire(entry, version, s.mv, 'version removed from the repository');
      }
      return;
    }
    const config = entry.config;
    // The hash covers the file name, so the config that parsed came from this file; without a config
    // no error names a file.
    const configFileName = configFile?.file ?? CONFIG_FILES[0];
    const filename = config?.default_model_filename ?? DEFAULT_MODEL_FILENAME;
    let contents: Map<number, VersionContents>;
    try {
      contents = await this.versionContents.contentsOf(name, listing.versions);
    } catch (err) {
      this.options.onEvent({ type: 'poll-failed', error: `cannot read a version manifest of ${name}: ${(err as Error).message}` });
      return;
    }
    const contentsOf = (version: number) => contents.get(version)!;
    // A version being published again goes on serving what it served until the publication finishes.
    const available = [...listing.versions]
      .filter(([v, files]) => {
        const kind = contentsOf(v).kind;
        if (kind === 'publishing') return entry.serving.has(v);
        return kind !== 'unmanaged' || files.some((f) => f.key.endsWith(`/${filename}`));
      })
      .map(([v]) => v);
    const desired = selectVersions(config?.version_policy ?? DEFAULT_VERSION_POLICY, available);
    const labelKeys = (config?.output ?? []).flatMap((o) => (o.label_filename ? [`${name}/${o.label_filename}`] : []));
    const warmupKeys = warmupFilesOf(config).map((file) => warmupFileKey(name, file));
    // A changed label or warm-up file reloads the versions that use it, as a changed config does.
    const modelFileStamps = [...labelKeys, ...warmupKeys].map((k) => `${k}\u0000${listing.modelFiles.get(k) ?? 'missing'}`);
    // A published version counts its manifest by the content hash it lists, so publishing the same
    // files again (a retry) reloads nothing where their stamps stay the same.
    const fingerprintOf = (version: number) => {
      const state = contentsOf(version);
      const published = state.kind === 'published' ? [`published\u0000${state.manifest.contentHash}`] : [];
      const files = listing.versions.get(version)!.filter((f) => published.length === 0 || !isVersionManifest(f));
      return sha256([configHash, filename, ...modelFileStamps, ...published, ...files.map((f) => `${f.key}\u0000${f.stamp}`).sort()].join('\n'));
    };
    for (const version of [...entry.failed.keys()]) if (!available.includes(version)) entry.failed.delete(version);

    for (const version of desired) {
      if (contentsOf(version).kind === 'publishing') continue;
      const fingerprint = fingerprintOf(version);
      if (entry.serving.get(version)?.fingerprint === fingerprint) continue;
      if (entry.failed.get(version)?.fingerprint === fingerprint) continue;
      await this.loadVersion(entry, version, fingerprint, filename, config, configFileName, contentsOf(version), listing.versions.get(version)!);
    }

    for (const [version, s] of [...entry.serving]) {
      if (!available.includes(version)) this.retire(entry, version, s.mv, 'version removed from the repository');
    }
    // Versions the policy no longer wants go only once every wanted version serves, so a failed
    // new version leaves the previous one answering.
    const allDesiredServing = desired.every((v) => entry.serving.has(v));
    if (allDesiredServing) {
      for (const [version, s] of [...entry.serving]) {
        if (!desired.includes(version)) this.retire(entry, version, s.mv, 'version policy no longer selects it');
      }
    }
  }

  private async loadVersion(
    entry: ModelEntry,
    version: number,
    fingerprint: string,
    filename: string,
    config: ModelConfig | undefined,
    configFile: ConfigFileName,
    contents: VersionContents,
    files: readonly RepositoryFile[],
  ): Promise<void> {
    entry.loading.add(version);
    try {
      const modelData = await this.versionContents.modelData(`${entry.name}/${version}`, filename, contents, files);
      // The manifest changed after the listing: a publication is under way, which a later poll sees.
      if (modelData === undefined) return;
      const labels = await this.readLabels(entry.name, config);
      const warmupFiles = await this.readWarmupFiles(entry.name, config);
      const mv = await ModelVersion.load({
        model: entry.name,
        version,
        config,
        configFile,
        modelData,
        modelFilename: filename,
        defaultMaxBatchSize: this.options.defaultMaxBatchSize,
        stats: this.metrics.forVersion(entry.name, version),
        labels,
        warmupFiles,
      });
      if (this.stopped) {
        await mv.unload();
        return;
      }
      const previous = entry.serving.get(version);
      entry.serving.set(version, { mv, fingerprint });
      entry.failed.delete(version);
      this.options.onEvent({ type: 'loaded', model: entry.name, version, seconds: mv.loadSeconds });
      if (previous) this.drain(entry, version, previous.mv, 'replaced by a reload of the same version');
    } catch (err) {
      const error = (err as Error).message;
      entry.failed.set(version, { fingerprint, error });
      this.metrics.recordLoadFailure(entry.name, version);
      this.options.onEvent({ type: 'load-failed', model: entry.name, version, error });
    } finally {
      entry.loading.delete(version);
    }
  }

  /** The label files the model's config names for outputs; a missing one fails the load, naming the file. */
  private async readLabels(model: string, config: ModelConfig | undefined): Promise<Map<string, string[]>> {
    const labels = new Map<string, string[]>();
    for (const output of config?.output ?? []) {
      if (!output.label_filename) continue;
      const key = `${model}/${output.label_filename}`;
      let text: string;
      try {
        text = (await this.source.readFile(key)).toString('utf8');
      } catch (err) {
        throw new Error(`output '${output.name}': cannot read label_filename ${key}: ${(err as Error).message}`);
      }
      labels.set(output.name, parseLabels(text));
    }
    return labels;
  }

  /** The input_data_file files of the config's warm-up, from the model's warmup/ directory; a missing one fails the load, naming it. */
  private async readWarmupFiles(model: string, config: ModelConfig | undefined): Promise<Map<string, Uint8Array>> {
    const files = new Map<string, Uint8Array>();
    for (const file of warmupFilesOf(config)) {
      const key = warmupFileKey(model, file);
      try {
        files.set(file, new Uint8Array(await this.source.readFile(key)));
      } catch (err) {
        throw new Error(`model '${model}' model_warmup: cannot read input_data_file ${key}: ${(err as Error).message}`);
      }
    }
    return files;
  }

  private retire(entry: ModelEntry, version: number, mv: ModelVersion, reason: string): void {
    entry.serving.delete(version);
    this.drain(entry, version, mv, reason);
  }

  private drain(entry: ModelEntry, version: number, mv: ModelVersion, reason: string): void {
    entry.unloading.set(version, (entry.unloading.get(version) ?? 0) + 1);
    this.options.onEvent({ type: 'unloading', model: entry.name, version, reason });
    const done: Promise<void> = mv
      .unload()
      .catch(() => undefined)
      .then(() => {
        const left = (entry.unloading.get(version) ?? 1) - 1;
        if (left > 0) entry.unloading.set(version, left);
        else entry.unloading.delete(version);
        this.unloads.delete(done);
        this.options.onEvent({ type: 'unloaded', model: entry.name, version });
      });
    this.unloads.add(done);
  }
}
