import { Contents, ServerConnection } from '@jupyterlab/services';

import { ArtifactDrive, artifactDocumentPath, artifactKind } from '../artifactDrive';
import { DataPanel } from '../dataPanel';
import { outcome } from '../jobOutcome';
import { htmlPreview, RunDetailWidget } from '../runDetail';
import { IArtifact, IHeadlessRun, IMlopsSource, IRunDetail, ISnapshot } from '../tokens';

const XSS = '<img src=x onerror=alert(1)>';
const RUN = 'abc123';
/** The drive never talks to the server itself; it goes through the source. */
const SETTINGS = {} as ServerConnection.ISettings;

/** Artifacts of one run, served from memory; counts what was fetched. */
function artifactSource(files: Record<string, string | Uint8Array>): IMlopsSource & {
  fetched: string[];
} {
  const fetched: string[] = [];
  const body = (path: string) => {
    fetched.push(path);
    if (!(path in files)) {
      throw new Error(`no artifact ${path}`);
    }
    return files[path];
  };
  const source: Partial<IMlopsSource> & { fetched: string[] } = {
    fetched,
    artifacts: async (_runId: string, path: string): Promise<IArtifact[]> => {
      const prefix = path ? `${path}/` : '';
      const names = new Set<string>();
      const out: IArtifact[] = [];
      for (const key of Object.keys(files).filter(k => k.startsWith(prefix))) {
        const rest = key.slice(prefix.length);
        const top = rest.split('/')[0];
        if (!names.has(top)) {
          names.add(top);
          const isDir = rest.includes('/');
          out.push({ path: prefix + top, is_dir: isDir, file_size: isDir ? null : 3 });
        }
      }
      return out;
    },
    artifactText: async (_runId: string, path: string) => {
      const value = body(path);
      return typeof value === 'string' ? value : new TextDecoder().decode(value);
    },
    artifactBytes: async (_runId: string, path: string) => {
      const value = body(path);
      const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
      return bytes.slice().buffer as ArrayBuffer;
    },
    artifactUrl: (runId: string, path: string, download?: boolean) =>
      `/dl/${runId}/${path}${download ? '?download=1' : ''}`
  };
  return source as IMlopsSource & { fetched: string[] };
}

describe('ArtifactDrive', () => {
  const notebook = JSON.stringify({ cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 });
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 255]);
  const files = {
    'notebook/train.ipynb': notebook,
    'plots/loss.png': png,
    'logs/out.txt': `hello ${XSS}`,
    'broken.ipynb': '{not json'
  };

  it('serves a notebook as a read-only notebook model', async () => {
    const drive = new ArtifactDrive(artifactSource(files), SETTINGS);
    const m = await drive.get(`${RUN}/notebook/train.ipynb`, { type: 'notebook', content: true });
    expect(m.type).toBe('notebook');
    expect(m.format).toBe('json');
    expect(m.writable).toBe(false);
    expect(m.name).toBe('train.ipynb');
    expect(m.content).toEqual(JSON.parse(notebook));
  });

  it('serves images as base64 and text as text', async () => {
    const drive = new ArtifactDrive(artifactSource(files), SETTINGS);
    const image = await drive.get(`${RUN}/plots/loss.png`, { type: 'file', format: 'base64' });
    expect(image.mimetype).toBe('image/png');
    expect(image.format).toBe('base64');
    expect(Uint8Array.from(atob(image.content), c => c.charCodeAt(0))).toEqual(png);
    const text = await drive.get(`${RUN}/logs/out.txt`, { type: 'file', format: 'text' });
    expect(text.content).toBe(`hello ${XSS}`);
    expect(text.format).toBe('text');
  });

  it('answers metadata-only requests without downloading', async () => {
    const source = artifactSource(files);
    const drive = new ArtifactDrive(source, SETTINGS);
    const m = await drive.get(`${RUN}/notebook/train.ipynb`, { content: false });
    expect(m.content).toBeNull();
    expect(m.type).toBe('notebook');
    expect(source.fetched).toEqual([]);
  });

  it('lists folders', async () => {
    const drive = new ArtifactDrive(artifactSource(files), SETTINGS);
    const root = await drive.get(RUN, { type: 'directory' });
    const entries = (root.content as any[]).map(e => [e.path, e.type]).sort();
    expect(entries).toEqual([
      [`${RUN}/broken.ipynb`, 'notebook'],
      [`${RUN}/logs`, 'directory'],
      [`${RUN}/notebook`, 'directory'],
      [`${RUN}/plots`, 'directory']
    ]);
  });

  it('refuses every write and says why', async () => {
    const drive: Contents.IDrive = new ArtifactDrive(artifactSource(files), SETTINGS);
    const path = `${RUN}/logs/out.txt`;
    for (const attempt of [
      () => drive.save(path, { content: 'x' }),
      () => drive.delete(path),
      () => drive.rename(path, `${RUN}/y.txt`),
      () => drive.newUntitled({ path: RUN }),
      () => drive.copy(path, RUN),
      () => drive.createCheckpoint(path)
    ]) {
      await expect(attempt()).rejects.toThrow('read-only');
    }
    expect(await drive.listCheckpoints(path)).toEqual([]);
  });

  it('reports a broken notebook and a malformed path in one line', async () => {
    const drive = new ArtifactDrive(artifactSource(files), SETTINGS);
    await expect(drive.get(`${RUN}/broken.ipynb`, { type: 'notebook' })).rejects.toThrow(
      'not a valid notebook'
    );
    await expect(drive.get('../etc/passwd', {})).rejects.toThrow('Not an artifact path');
    expect(await drive.getDownloadUrl(`${RUN}/logs/out.txt`)).toBe(
      `/dl/${RUN}/logs/out.txt?download=1`
    );
  });

  it('names documents by run and path, and knows what Lab can show', () => {
    expect(artifactDocumentPath(RUN, 'a/b.ipynb')).toBe(`mlops-artifacts:${RUN}/a/b.ipynb`);
    expect(['x.ipynb', 'x.PNG', 'x.log', 'model.pkl'].map(artifactKind)).toEqual([
      'notebook',
      'image',
      'text',
      null
    ]);
  });
});

function job(fields: Partial<IHeadlessRun>): IHeadlessRun {
  return {
    id: '1',
    kind: 'reproduce',
    label: 'reproduce baseline',
    notebook: '',
    status: 'FINISHED',
    error: null,
    report: null,
    done: true,
    run_id: 'r2',
    output_path: null,
    progress: null,
    ...fields
  };
}

describe('headless job outcome', () => {
  const report = {
    original_run_id: 'r1',
    run_id: 'r2',
    status: 'FINISHED',
    rtol: 1e-7,
    atol: 0,
    environment: [{ what: 'python', original: '3.10', reproduced: '3.11' }]
  };

  it('gives the verdict of a reproduction and which metrics differ', () => {
    const ok = outcome(
      job({
        report: {
          ...report,
          ok: true,
          metrics: [
            { key: 'acc', original: 0.9, reproduced: 0.9, ok: true },
            { key: 'loss', original: 0.1, reproduced: 0.1, ok: true }
          ]
        }
      })
    );
    expect(ok.textContent).toBe('Reproduced: 2 metrics match');
    expect(ok.title).toContain('python: 3.10 → 3.11');
    const bad = outcome(
      job({
        report: {
          ...report,
          ok: false,
          metrics: [
            { key: XSS, original: 0.9, reproduced: 0.5, ok: false },
            { key: 'loss', original: 0.1, reproduced: 0.1, ok: true }
          ]
        }
      })
    );
    expect(bad.textContent).toBe(`Not reproduced: ${XSS} differs`);
    expect(bad.querySelector('img')).toBeNull();
  });

  it('says a reproduction ran in the recorded environment, and what it lacked', () => {
    const metrics = [{ key: 'acc', original: 0.9, reproduced: 0.9, ok: true }];
    const isolated = outcome(
      job({
        report: {
          ...report,
          ok: true,
          metrics,
          distributions: { recorded: 226, at_recorded_version: 225 },
          isolated: { key: 'k', reused: false, skipped: [{ name: XSS }] }
        }
      })
    );
    expect(isolated.textContent).toBe(
      'Reproduced: 1 metric matches · recorded environment: 225 of 226 distributions, 1 skipped'
    );
    const plain = outcome(job({ report: { ...report, ok: true, metrics, isolated: null } }));
    expect(plain.textContent).toBe('Reproduced: 1 metric matches');
  });

  it('shows why a job could not run, else its progress', () => {
    const failed = outcome(job({ status: 'ERROR', error: `run has no notebook ${XSS}` }));
    expect(failed.textContent).toBe(`run has no notebook ${XSS}`);
    expect(failed.querySelector('img')).toBeNull();
    const running = outcome(
      job({ done: false, progress: { text: 'cell 2/5', cells_done: 1, cells_total: 5 } })
    );
    expect(running.textContent).toBe('cell 2/5');
  });
});

function snapshot(ref: string, version: number): ISnapshot {
  return {
    ref,
    version,
    digest: `d${version}`,
    rows: 1,
    cols: 1,
    new_bytes: 0,
    dedup: 0,
    created: ''
  };
}

describe('DataPanel.reveal', () => {
  it('selects the name, marks the version and diffs it against the one before', async () => {
    const versions: Record<string, ISnapshot[]> = {
      other: [snapshot('other@v1', 1)],
      train: [1, 2, 3].map(v => snapshot(`train@v${v}`, v))
    };
    const source = {
      snapshots: async (name?: string) =>
        name ? versions[name] : [snapshot('other@v1', 1), snapshot('train@v3', 3)]
    } as unknown as IMlopsSource;
    const panel = new DataPanel(source);
    await panel.reveal('train@v2');
    const node = panel.node;
    expect(node.querySelector<HTMLSelectElement>('.jp-mlops-snapshot-name')!.value).toBe('train');
    const marked = [...node.querySelectorAll('.jp-mlops-selected')].map(r =>
      r.getAttribute('data-ref')
    );
    expect(marked).toEqual(['train@v2']);
    expect(node.querySelector<HTMLSelectElement>('.jp-mlops-ref-a')!.value).toBe('train@v1');
    expect(node.querySelector<HTMLSelectElement>('.jp-mlops-ref-b')!.value).toBe('train@v2');
    // A later refresh (the tab being shown) keeps the focus.
    await panel.refresh();
    expect(node.querySelectorAll('.jp-mlops-selected')).toHaveLength(1);
    panel.dispose();
  });
});

describe('RunDetailWidget', () => {
  const detail: IRunDetail = {
    run_id: RUN,
    name: XSS,
    experiment_id: '1',
    status: 'FINISHED',
    start_time: 1000,
    end_time: 2000,
    metrics: {},
    params: { [XSS]: XSS },
    tags: {},
    artifact_uri: '',
    lifecycle_stage: 'active',
    inputs: [
      {
        name: 'train',
        digest: 'abcdef0123456789',
        source_type: 'mlops-snapshot',
        source: '{}',
        ref: 'train@v2',
        schema: '',
        profile: '',
        tags: {}
      },
      {
        name: 'external',
        digest: '0123',
        source_type: 'http',
        source: 'https://example.invalid/x.csv',
        ref: null,
        schema: '',
        profile: '',
        tags: {}
      }
    ]
  };

  it('links snapshot inputs to the Data view and offers Reproduce, rendering text literally', async () => {
    const calls: string[] = [];
    const source = {
      ...artifactSource({ 'notebook/run.ipynb': '{}' }),
      run: async () => detail,
      metricHistory: async () => ({})
    } as unknown as IMlopsSource;
    const widget = new RunDetailWidget(source, RUN, {
      reproduce: (id, name) => calls.push(`reproduce ${id} ${name}`),
      openSnapshot: ref => calls.push(`snapshot ${ref}`),
      openArtifact: (id, path) => calls.push(`open ${id} ${path}`)
    });
    await widget.load();
    const node = widget.node;
    expect(node.querySelector('img, script')).toBeNull();
    expect(node.querySelector('.jp-mlops-run-title')!.textContent).toBe(XSS);
    const links = [...node.querySelectorAll<HTMLElement>('.jp-mlops-input-link')];
    expect(links.map(l => l.textContent)).toEqual(['train@v2']);
    links[0].click();
    node.querySelector<HTMLElement>('.jp-mlops-reproduce')!.click();
    expect(calls).toEqual(['snapshot train@v2', `reproduce ${RUN} ${XSS}`]);
    expect(node.textContent).toContain('http: https://example.invalid/x.csv');
    widget.dispose();
  });
});

describe('htmlPreview', () => {
  it('renders the page in a frame that may run no script', () => {
    const page = '<!DOCTYPE html><h1>Report</h1><script>parent.alert(1)</script>';
    const frame = htmlPreview(page, 'report.html');
    expect(frame.tagName).toBe('IFRAME');
    expect(frame.getAttribute('sandbox')).toBe('');
    expect(frame.srcdoc).toBe(page);
    expect(frame.title).toBe('report.html');
  });
});
