// The KServe / Triton model repository API over the manager's models: the index (every configured
// model with its state, plus the --model_repository directories not loaded yet), load (re-enable a
// configured model, or add a repository directory not configured yet) and unload (every version,
// draining; the model stays listed). The manager (its RepositoryHost) does the loading and
// unloading; this module owns what the API means.

import { JetserveError, notFound } from '../errors.js';
import type { RepositoryIndexEntry, RepositorySource } from './capabilities.js';
import { repositoryModelConfigs, type ModelConfig } from './config.js';
import { checkName } from './names.js';
import type { ManagedModel } from './managed-model.js';

/** What the repository API needs from the manager. */
export interface RepositoryHost {
  readonly models: ReadonlyMap<string, ManagedModel>;
  /** Adds a model and loads its aspired versions (rejects when none becomes AVAILABLE). */
  addModel(config: ModelConfig): Promise<void>;
  /** Re-enables a configured model and loads its aspired versions (rejects when none becomes AVAILABLE). */
  enable(model: ManagedModel): Promise<void>;
  /** Disables a model and unloads every version (draining). */
  disable(model: ManagedModel): Promise<void>;
}

export class ModelRepository implements RepositorySource {
  /** `root`: a Triton-style model repository (--model_repository): each sub-directory is a model. */
  constructor(
    private readonly host: RepositoryHost,
    private readonly root: string | undefined,
  ) {}

  /**
   * Every configured model with its state (Triton's repository index), plus the repository's model
   * directories not loaded yet (UNAVAILABLE, "unloaded"). Sorted by name.
   */
  repositoryIndex(): RepositoryIndexEntry[] {
    const index = [...this.host.models.values()].map((m): RepositoryIndexEntry => {
      const latest = m.latestAvailable();
      const failed = [...m.versions.values()].find((v) => v.error);
      return {
        name: m.name,
        ...(latest ? { version: String(latest.version) } : {}),
        state: latest ? 'READY' : m.disabled ? 'UNAVAILABLE' : m.busy ? 'LOADING' : 'UNAVAILABLE',
        reason: latest ? '' : m.disabled ? 'unloaded' : failed?.error ? `version ${failed.version} failed to load: ${failed.error.message}` : '',
      };
    });
    if (this.root) {
      for (const c of repositoryModelConfigs(this.root)) {
        if (!this.host.models.has(c.name)) index.push({ name: c.name, state: 'UNAVAILABLE', reason: 'unloaded' });
      }
    }
    return index.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Loads (again) a configured model, or adds a repository model directory that is not configured
   * yet; resolves when its aspired versions are AVAILABLE. A failed load leaves the model listed
   * with its error (index: UNAVAILABLE + reason) and rejects.
   */
  async repositoryLoad(name: string, parameterNames: readonly string[] = []): Promise<void> {
    checkName(name, `failed to load: model name`);
    // Triton's "config" / "file:<path>" parameters replace the model's configuration or files for
    // this load; jetserve serves the directory as it is, so loading something else is refused.
    for (const key of parameterNames) {
      if (key === 'config' || key.startsWith('file:')) {
        throw new JetserveError(
          'UNIMPLEMENTED',
          `failed to load '${name}': load parameter '${key}' (a configuration or file override) is not supported by jetserve`,
        );
      }
    }
    const model = this.host.models.get(name);
    if (model) return this.host.enable(model);
    const dir = this.repositoryDir(name);
    if (!dir) {
      throw notFound(
        `failed to load '${name}', failed to poll from model repository: ` +
          (this.root ? `no model directory ${name} in ${this.root}` : `model ${name} is not configured`),
      );
    }
    await this.host.addModel({ name, basePath: dir });
  }

  /** Unloads every version of a model (draining in-flight requests); it stays listed. */
  async repositoryUnload(name: string): Promise<void> {
    checkName(name, `failed to unload: model name`);
    const model = this.host.models.get(name);
    if (!model) {
      if (this.repositoryDir(name)) return; // listed but never loaded: nothing to unload
      throw notFound(`failed to unload '${name}': model ${name} is not configured`);
    }
    await this.host.disable(model);
  }

  /** The repository's directory for a model name, when there is one (names never leave the root). */
  private repositoryDir(name: string): string | undefined {
    if (!this.root) return undefined;
    return repositoryModelConfigs(this.root).find((c) => c.name === name)?.basePath;
  }
}
