// Every view of the page. A view is one file exporting
//   {id, title, applies({spec, report, dataset}) -> bool,
//    needs?(data) -> InspectRequest parts (what it reads from `inspection`),
//    mount(el) -> {update(data), destroy?()}}
// where `data` is {spec, report, dataset, metrics, history, inspection,
// inspections, drawing, view, actions}. Adding a view is one file and one
// line here.
import boundary from './boundary.js';
import predictions from './predictions.js';
import samples from './samples.js';
import curves from './curves.js';
import confusion from './confusion.js';
import draw from './draw.js';
import features from './features.js';
import filters from './filters.js';
import attention from './attention.js';
import hidden from './hidden.js';
import tokens from './tokens.js';
import graph from './graph.js';
import sparsity from './sparsity.js';
import histograms from './histograms.js';

export const VIEWS = [boundary, predictions, samples, curves, confusion, draw, features, filters, attention, hidden, tokens, graph, sparsity, histograms];
