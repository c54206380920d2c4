// Every view of the page. A view is one file exporting
//   {id, title, applies({spec, report, dataset}) -> bool,
//    mount(el) -> {update(data), destroy?()}}
// where `data` is {spec, report, dataset, metrics, history, view, actions}. Adding a
// view is one file and one line here.
import curves from './curves.js';
import boundary from './boundary.js';
import samples from './samples.js';

export const VIEWS = [boundary, samples, curves];
