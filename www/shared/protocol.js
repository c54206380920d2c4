// The messages between the page (client.js) and the training worker.
//
// Requests, page -> worker: {id, type, ...args}; every request gets exactly one
// reply, worker -> page: {id, ok: true, result} or {id, ok: false, error}.
// Events, worker -> page: {event, session, ...}; `session` is the id of the
// session they concern, so the page drops events of sessions it replaced.
//
// Requests (args -> result):
//   ready     {}                      -> {at, build}: when the wasm module was ready (epoch ms), not queued behind
//                                        other work, and which build runs ('relaxed-simd' or 'simd128')
//   open      {spec, backend: 'auto'|'webgpu'|'cpu', state?} or {file: Uint8Array, backend}
//                                     -> {session, spec, backend, note, adapter, report, dataset, metrics}
//                                        (adapter: the GPU's description, or the CPU build's)
//             (the current run is replaced only once the new one opened)
//   infer     {spec}                  -> ModelReport (shapes, parameter counts; nothing is built)
//   schema    {}                      -> the spec's JSON Schema
//   csv       {text}                  -> {columns, numeric, distinct, rows, count} (a CSV upload's first look)
//   play      {}  pause {}  step {n}  -> {step}   (training runs in the worker; progress comes as events)
//   backend   {backend}               -> {backend, note, adapter}  (same weights, optimizer state and step)
//   predict   {x: Float32Array, n}    -> Float32Array
//   grid      {res}                   -> Float32Array
//   tokens    {x: Float32Array, n, tokens, reset?} -> TokenRun ({position, outputs, outputShape, states}): the next
//                                        `tokens` tokens of `n` sequences, the layers' states carried on from
//                                        the tokens fed before (training starts new sequences; `reset` does too);
//                                        {reset: true, tokens: 0} only forgets them -> null
//   inspect   {request}               -> Inspection (probes, confusion, predictions, histograms, sparsity, filters:
//                                        see InspectRequest in the wasm module's types); the run is not changed
//   watch     {request}               -> Inspection or null: from now on every metrics event carries the
//                                        inspection of `request` (on the metrics' sample while training); {} stops
//   state     {}                      -> TrainerState (host copy of everything the run holds)
//   save      {page?}                 -> {step, bytes: Uint8Array}: the session file (safetensors; `page` in its metadata)
//   pytorch   {}                      -> {file name: Uint8Array}: the run as a PyTorch folder (train.py, ...)
//   readFile  {bytes}                 -> {spec, page, step} of a session file, checked; nothing opened
//   decodeSetup {text}                -> {spec, page} of a link's setup text (app/link.js writes it), checked
//   close     {}                      -> null
//   loseDevice {}                     -> null  (destroys the GPU device, as a driver reset would; for tests)
//   pfnOpen   {name}                  -> {spec, maxContext, features, classes, buckets, domain} of a shipped PFN
//                                        (models/NAME.safetensors, loaded once and kept)
//   pfnPredict {name, request}        -> {type: 'bar', tails, borders, datasets: [{probs}]} or {type: 'classes', ...}
//                                        (request: {datasets: [{x_context, y_context, x_query}]}, as `nnlab pfn predict`)
//   pfnCurve  {name, request}         -> {pfn: band, density, exact: band | null, heldOut, ms} (the regression view;
//                                        a band is {mean, q05, q25, q75, q95} per query point)
//   pfnDraw   {name, reference, context, heldOut, seed} -> {xContext, yContext, heldOut: {x, y}} drawn from a GP
//   pfnClassify {name, csv, label, trainRatio, seed} -> {pfn, logistic, mlp}: each {accuracy, predicted, features,
//                                        classes, train, test, ms} on the same split of a CSV table
//   pfnTrainStart {spec}              -> info of a fresh PFN to train in the worker (replaces the previous one)
//   pfnTrain  {steps}                 -> {step, steps, nll}
//   pfnEvaluate {datasets, queries}   -> the held-out report of `nnlab pfn eval` for the PFN in training
//   experimentOpen {text, backend}    -> {card, runs: [{variant, sweepIndex, seed, label, spec}]} of an experiment
//                                        card (JSON text), checked; its runs open as Sessions beside the lab's run
//   experimentTrain {index, steps}    -> {step, done, diverged, metrics, ms}: run `index` trained by up to `steps`
//                                        (never past its spec's steps); metrics on a sample, on the whole sets when done
//   experimentReport {results}        -> {summary, checks} of the open card from its runs' final metrics
//                                        ([{variant, sweepIndex, seed, metric, divergedAt, seconds}])
//   experimentClose {}                -> null (frees the card's runs)
// Events:
//   metrics   {session, step, epoch, trainLoss, testLoss, trainAccuracy, testAccuracy, stepsPerSec, msPerStep,
//              sampled (true: on a fixed sample of each split, while training), grid?, gridRes?,
//              inspection? (what `watch` asked for), inspectionError?}
//   playing   {session, playing}      (training started or stopped, e.g. after an error)
//   budget    {session, step}         (Play stopped at the spec's training.steps; Play again goes on)
//   backend   {session, backend, note} (a fall-back after a lost GPU; the run continues)
//   error     {session, error}        (training stopped; the model is kept)
//
// Errors are {kind, path, message}: kind is one of the NnlabError kinds of the
// wasm API ('invalid_spec', 'non_finite', 'device_lost', ...) or 'aborted'
// (a newer request replaced this one) or 'worker' (the worker failed to load).

export const REQUESTS = Object.freeze([
  'ready', 'open', 'infer', 'schema', 'csv', 'play', 'pause', 'step', 'backend', 'predict', 'grid', 'tokens', 'inspect', 'watch', 'state', 'save',
  'pytorch', 'readFile', 'decodeSetup', 'close', 'loseDevice',
  'pfnOpen', 'pfnPredict', 'pfnCurve', 'pfnDraw', 'pfnClassify', 'pfnTrainStart', 'pfnTrain', 'pfnEvaluate',
  'experimentOpen', 'experimentTrain', 'experimentReport', 'experimentClose',
]);
export const EVENTS = Object.freeze(['metrics', 'playing', 'budget', 'backend', 'error']);

// Any thrown value as a plain, cloneable {kind, path, message}.
export function toFailure(e, kind = 'internal') {
  if (e && typeof e === 'object') {
    return {
      kind: typeof e.kind === 'string' ? e.kind : kind,
      path: typeof e.path === 'string' ? e.path : null,
      message: String(e.message ?? e),
    };
  }
  return { kind, path: null, message: String(e) };
}

// A failure as an Error the caller can throw, keeping kind and path.
export function toError(failure) {
  return Object.assign(new Error(failure.message), { kind: failure.kind, path: failure.path ?? null });
}
