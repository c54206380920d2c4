// Types of the nnlab package. The wasm module's own declarations (Session,
// ModelSpec, Metrics, NnlabError, ...) come from pkg/nnlab_web.d.ts.
import type { ModelSpec, ModelReport, Metrics, DatasetPreview, TrainerState, InspectRequest, Inspection, TokenRun } from './pkg/nnlab_web.js';
export type { ModelSpec, ModelReport, Metrics, DatasetPreview, TrainerState, NnlabError, InspectRequest, Inspection, TokenRun, TokenSupport, CarriedState } from './pkg/nnlab_web.js';
export { default as init, Session, inferShapes, specSchema, csvPreview, decodeSetup, readSessionFile, webgpuInfo } from './pkg/nnlab_web.js';

export type BackendChoice = 'auto' | 'webgpu' | 'cpu';

/** Parts of the lab page a link can hide (the README has the table). */
export type Part = 'header' | 'text' | 'presets' | 'data' | 'model' | 'training' | 'controls' | 'stats' | 'keep'
  | 'view-options' | 'boundary' | 'predictions' | 'samples' | 'curves' | 'confusion' | 'draw' | 'features' | 'filters'
  | 'attention' | 'hidden' | 'tokens' | 'graph' | 'sparsity' | 'histograms';

export interface EmbedOptions {
  /** The lab page's address (default: the index.html two folders above this package, as the nnlab site serves it). */
  page?: string;
  /** A model spec; or `preset`, the name of a shipped preset. */
  spec?: ModelSpec;
  preset?: string;
  hide?: Part[];
  /** Start training when the lab has loaded. */
  autoplay?: boolean;
  backend?: BackendChoice;
  /** The iframe's height in pixels (default 640). */
  height?: number;
  title?: string;
}

/** What a training run reports, as the page's events carry it. */
export interface MetricsEvent extends Metrics {
  stepsPerSec: number | null;
  msPerStep: number | null;
  /** True while training: measured on a fixed sample of each split. */
  sampled: boolean;
  playing: boolean;
  /** What `watch` asked for, on the current weights (on the same sample while training). */
  inspection?: Inspection;
  inspectionError?: { kind: string; path: string | null; message: string };
}

export interface EmbeddedLab {
  iframe: HTMLIFrameElement;
  on(event: 'ready', fn: (e: { report: ModelReport; metrics: MetricsEvent }) => void): () => void;
  on(event: 'metrics', fn: (e: MetricsEvent) => void): () => void;
  on(event: 'playing', fn: (e: { playing: boolean }) => void): () => void;
  on(event: 'error', fn: (e: { error: { kind: string; path: string | null; message: string } }) => void): () => void;
  play(): void;
  pause(): void;
  step(): void;
  reset(): void;
  destroy(): void;
}

/** Puts a lab (the nnlab page in an iframe, set up by its link) into `element`. */
export function embed(element: HTMLElement, options?: EmbedOptions): EmbeddedLab;
/** The lab page's address for `options`. */
export function labUrl(options?: EmbedOptions): string;

export interface OpenInfo {
  session: number;
  spec: ModelSpec;
  backend: 'webgpu' | 'cpu';
  /** Why this backend (auto's choice, a fall-back), or null. */
  note: string | null;
  adapter: string | null;
  report: ModelReport;
  dataset: DatasetPreview;
  metrics: MetricsEvent;
}

/** A PFN's bands per query point: mean and the 5/25/75/95% quantiles. */
export interface PfnBand { mean: number[]; q05: number[]; q25: number[]; q75: number[]; q95: number[] }
/** A GP to compare with: each hyperparameter fixed or drawn ({dist: 'uniform' | 'logUniform', low, high}). */
export type PfnHyper = number | { dist: 'uniform' | 'logUniform'; low: number; high: number };
export interface PfnReference { kernel: 'rbf' | 'matern12' | 'matern32' | 'matern52'; lengthscale: PfnHyper; outputscale: PfnHyper; noiseStd: PfnHyper; grid?: number }
export interface PfnCurveRequest {
  xContext: number[]; yContext: number[]; xQuery: number[];
  yGrid?: { low: number; high: number; count: number };
  heldOut?: { x: number[]; y: number[] };
  reference?: PfnReference;
}
export interface PfnCurve {
  pfn: PfnBand; exact: PfnBand | null;
  /** The PFN's density at every yGrid value, query-major. */
  density: number[];
  heldOut: { points: number; pfnNll: number; exactNll: number | null } | null;
  ms: number;
}
/** As `nnlab pfn predict` reads it (other keys are ignored). */
export interface PfnPredictRequest { datasets: { x_context: number[][]; y_context: number[]; x_query: number[][] }[] }
export type PfnPrediction =
  | { type: 'bar'; tails: 'halfnormal-pfn'; borders: number[]; datasets: { probs: number[][] }[] }
  | { type: 'classes'; datasets: { probs: number[][] }[] };
export interface PfnClassified { accuracy: number; predicted: number[]; features: number; classes: number; train: number; test: number; ms: number }

/** The wasm builds: threaded (relaxed SIMD, shared memory), relaxed SIMD, plain simd128. */
export type WasmBuild = 'threads' | 'relaxed-simd' | 'simd128';

/** A model training in a Web Worker (the lab page uses exactly this). Every failure rejects with an NnlabError. */
export class Lab {
  /** `wasm` asks for a build where the browser and the page can run it; by
   * default the best they can ('threads' only in a cross-origin isolated page). */
  constructor(options?: { workerUrl?: URL | string; wasm?: WasmBuild | null });
  open(spec: ModelSpec | string, options?: { backend?: BackendChoice; state?: TrainerState | null; file?: Uint8Array | null }): Promise<OpenInfo>;
  on(event: 'metrics', fn: (e: MetricsEvent) => void): () => void;
  on(event: 'playing', fn: (e: { playing: boolean }) => void): () => void;
  on(event: 'budget', fn: (e: { step: number }) => void): () => void;
  on(event: 'backend', fn: (e: { backend: 'webgpu' | 'cpu'; note: string | null }) => void): () => void;
  on(event: 'error', fn: (e: { error: { kind: string; path: string | null; message: string } }) => void): () => void;
  play(): Promise<null>;
  pause(): Promise<null>;
  step(n?: number): Promise<{ step: number }>;
  setBackend(backend: BackendChoice): Promise<{ backend: 'webgpu' | 'cpu'; note: string | null }>;
  /** Outputs for `n` examples packed in `x` (class probabilities for classification). */
  predict(x: Float32Array, n: number): Promise<Float32Array>;
  /** For models of 2D points: res x res outputs over [-1, 1]^2, row 0 at the top. */
  grid(res: number): Promise<Float32Array>;
  /**
   * A sequence model token by token (when `report.tokens.layers > 0`): `x` holds the next `tokens` tokens of `n`
   * sequences ([n, tokens, token shape]); every layer carries its state on from the tokens fed before. Training
   * starts new sequences, and so does `reset` (`position` says how many tokens the states hold).
   */
  feedTokens(x: Float32Array, n: number, tokens: number, options?: { reset?: boolean }): Promise<TokenRun>;
  resetTokens(): Promise<null>;
  /** What the model does inside on its current weights: probes of an example or an input, and the parts asked for. */
  inspect(request: InspectRequest): Promise<Inspection>;
  /** From now on every 'metrics' event carries `inspection` for `request` ({} stops); resolves to the first. */
  watch(request: InspectRequest): Promise<Inspection | null>;
  infer(spec: ModelSpec): Promise<ModelReport>;
  schema(): Promise<object>;
  exportState(): Promise<TrainerState>;
  /** The run as one session file (safetensors). */
  saveFile(page?: object | null): Promise<{ step: number; bytes: Uint8Array }>;
  readFile(bytes: Uint8Array): Promise<{ spec: ModelSpec; page: object | null; step: number }>;
  /** The run as a PyTorch folder: file name -> contents. */
  pytorchFiles(): Promise<Record<string, Uint8Array>>;
  decodeSetup(text: string): Promise<{ spec: ModelSpec; page: object }>;
  close(): Promise<null>;
  terminate(): void;
  /** When the wasm module was ready (epoch milliseconds), and which build runs. */
  ready(): Promise<{ at: number; build: WasmBuild }>;
  /** A shipped PFN (models/NAME.safetensors: 'pfn-gp', 'pfn-gp-ls', 'pfn-tabular'), loaded once. */
  pfnOpen(name: string): Promise<{ spec: object; maxContext: number; features: number; classes: number | null; buckets: number | null; domain: [number, number] | null }>;
  pfnPredict(name: string, request: PfnPredictRequest): Promise<PfnPrediction>;
  /** The regression view's curves: the PFN's band and density beside the exact GP's. */
  pfnCurve(name: string, request: PfnCurveRequest): Promise<PfnCurve>;
  /** Points drawn from a GP over the model's domain. */
  pfnDraw(name: string, reference: PfnReference, options?: { context?: number; heldOut?: number; seed?: number }): Promise<{ xContext: number[]; yContext: number[]; heldOut: { x: number[]; y: number[] } }>;
  /** The tabular PFN on a CSV table's test rows beside logistic regression and an MLP trained on the same split. */
  pfnClassify(name: string, table: { csv: string; label: string; trainRatio?: number; seed?: number }): Promise<{ pfn: PfnClassified; logistic: PfnClassified; mlp: PfnClassified }>;
  /** A PFN trained in the worker on a prior (a spec like models/pfn-gp.json). */
  pfnTrainStart(spec: object): Promise<{ spec: object }>;
  pfnTrain(steps: number): Promise<{ step: number; steps: number; nll: number | null }>;
  /** Its held-out NLL beside the exact GP's (`nnlab pfn eval`'s report). */
  pfnEvaluate(datasets?: number, queries?: number): Promise<object>;
  /** An experiment card (JSON text of models/experiments/*.json), checked, with its runs; they open beside the lab's run. */
  experimentOpen(text: string, options?: { backend?: 'cpu' | 'webgpu' }): Promise<{ card: object; runs: ExperimentRun[] }>;
  /** Trains run `index` by up to `steps` steps (never past its spec's); metrics on a sample, on the whole sets when done. */
  experimentTrain(index: number, steps: number): Promise<{ step: number; done: boolean; diverged: boolean; metrics: Metrics | null; ms: number }>;
  /** The card's table and checks from one result per run, decided as `nnlab experiment run` does. */
  experimentReport(results: ExperimentResult[]): Promise<{ summary: object; checks: { text: string; passed: boolean; measured: string }[] }>;
  experimentClose(): Promise<null>;
}

export interface ExperimentRun { variant: string; sweepIndex: number | null; seed: number; label: string; spec: ModelSpec }
export interface ExperimentResult { variant: string; sweepIndex: number | null; seed: number; metric: number | null; divergedAt?: number | null; seconds?: number }
