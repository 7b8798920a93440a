/**
 * MLflow run artifacts as a read-only JupyterLab drive.
 *
 * Registered with Lab's contents manager, it lets Lab's own viewers open
 * artifacts as documents: `mlops-artifacts:<run_id>/<path>` opens a notebook
 * in the notebook viewer, an image in the image viewer, text in the editor.
 * Every model it returns is `writable: false`, and every write is refused.
 */
import { Contents, ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { IArtifact, IMlopsSource } from './tokens';

export const DRIVE_NAME = 'mlops-artifacts';

const READ_ONLY = 'MLflow artifacts are read-only: save a copy into your project to edit it.';
const RUN_ID = /^[A-Za-z0-9]{1,64}$/;
const NOTEBOOK = /\.ipynb$/i;
const TEXT = /\.(txt|log|md|json|ya?ml|py|csv|toml|cfg|ini|r|sql|sh|html?)$/i;
const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  webp: 'image/webp',
  bmp: 'image/bmp'
};

/** The Lab path of artifact `path` of run `runId`. */
export function artifactDocumentPath(runId: string, path: string): string {
  return `${DRIVE_NAME}:${runId}/${path}`;
}

/** How Lab shows an artifact as a document, or `null` when it has no viewer for it. */
export function artifactKind(path: string): 'notebook' | 'image' | 'text' | null {
  if (NOTEBOOK.test(path)) {
    return 'notebook';
  }
  if (imageType(path) !== null) {
    return 'image';
  }
  return TEXT.test(path) ? 'text' : null;
}

function imageType(path: string): string | null {
  const ext = path.split('.').pop()?.toLowerCase() ?? '';
  return IMAGE_TYPES[ext] ?? null;
}

function split(localPath: string): { runId: string; path: string } {
  const clean = localPath.replace(/^\/+/, '');
  const slash = clean.indexOf('/');
  const runId = slash < 0 ? clean : clean.slice(0, slash);
  const path = slash < 0 ? '' : clean.slice(slash + 1).replace(/\/+$/, '');
  if (!RUN_ID.test(runId)) {
    throw new Error(`Not an artifact path: ${localPath} (expected <run id>/<artifact path>)`);
  }
  return { runId, path };
}

function toBase64(bytes: ArrayBuffer): string {
  const view = new Uint8Array(bytes);
  let binary = '';
  const step = 0x8000;
  for (let i = 0; i < view.length; i += step) {
    binary += String.fromCharCode(...view.subarray(i, i + step));
  }
  return btoa(binary);
}

const EPOCH = new Date(0).toISOString();

function model(
  localPath: string,
  fields: Pick<Contents.IModel, 'type' | 'format' | 'mimetype' | 'content'> & {
    size?: number;
  }
): Contents.IModel {
  return {
    name: localPath.replace(/\/+$/, '').split('/').pop() ?? localPath,
    path: localPath,
    created: EPOCH,
    last_modified: EPOCH,
    writable: false,
    ...fields
  };
}

export class ArtifactDrive implements Contents.IDrive {
  constructor(
    private readonly _source: IMlopsSource,
    readonly serverSettings: ServerConnection.ISettings
  ) {}

  readonly name = DRIVE_NAME;

  get fileChanged(): ISignal<Contents.IDrive, Contents.IChangedArgs> {
    return this._fileChanged;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (!this._disposed) {
      this._disposed = true;
      Signal.clearData(this);
    }
  }

  /** A folder listing, or a file as a notebook, base64 image or text. */
  async get(localPath: string, options: Contents.IFetchOptions = {}): Promise<Contents.IModel> {
    const { runId, path } = split(localPath);
    if (!path || options.type === 'directory') {
      return this._folder(localPath, runId, path, options.content !== false);
    }
    const notebook = NOTEBOOK.test(path) && options.type !== 'file';
    const image = imageType(path);
    const base64 = options.format === 'base64' || (!options.format && image !== null);
    const fields = notebook
      ? { type: 'notebook', format: 'json' as const, mimetype: 'application/x-ipynb+json' }
      : {
          type: 'file',
          format: base64 ? ('base64' as const) : ('text' as const),
          mimetype: image ?? 'text/plain'
        };
    if (options.content === false) {
      return model(localPath, { ...fields, content: null });
    }
    let content: unknown;
    if (notebook) {
      const text = await this._source.artifactText(runId, path);
      try {
        content = JSON.parse(text);
      } catch {
        throw new Error(`${path} of run ${runId} is not a valid notebook file.`);
      }
    } else if (base64) {
      content = toBase64(await this._source.artifactBytes(runId, path));
    } else {
      content = await this._source.artifactText(runId, path);
    }
    return model(localPath, { ...fields, content });
  }

  async getDownloadUrl(localPath: string): Promise<string> {
    const { runId, path } = split(localPath);
    return this._source.artifactUrl(runId, path, true);
  }

  async listCheckpoints(): Promise<Contents.ICheckpointModel[]> {
    return [];
  }

  newUntitled(): Promise<Contents.IModel> {
    return this._refuse();
  }

  delete(): Promise<void> {
    return this._refuse();
  }

  rename(): Promise<Contents.IModel> {
    return this._refuse();
  }

  save(): Promise<Contents.IModel> {
    return this._refuse();
  }

  copy(): Promise<Contents.IModel> {
    return this._refuse();
  }

  createCheckpoint(): Promise<Contents.ICheckpointModel> {
    return this._refuse();
  }

  restoreCheckpoint(): Promise<void> {
    return this._refuse();
  }

  deleteCheckpoint(): Promise<void> {
    return this._refuse();
  }

  private async _folder(
    localPath: string,
    runId: string,
    path: string,
    withContent: boolean
  ): Promise<Contents.IModel> {
    const fields = { type: 'directory', format: 'json' as const, mimetype: '' };
    if (!withContent) {
      return model(localPath, { ...fields, content: null });
    }
    const files: IArtifact[] = await this._source.artifacts(runId, path);
    const content = files.map(f =>
      model(`${runId}/${f.path}`, {
        type: f.is_dir ? 'directory' : NOTEBOOK.test(f.path) ? 'notebook' : 'file',
        format: null,
        mimetype: f.is_dir ? '' : (imageType(f.path) ?? 'text/plain'),
        content: null,
        size: f.file_size ?? undefined
      })
    );
    return model(localPath, { ...fields, content });
  }

  private _refuse<T>(): Promise<T> {
    return Promise.reject(new Error(READ_ONLY));
  }

  private _disposed = false;
  private _fileChanged = new Signal<Contents.IDrive, Contents.IChangedArgs>(this);
}
