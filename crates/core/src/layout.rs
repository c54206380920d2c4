//! Shape, strides and offset of a view into flat storage. Views (transpose,
//! slice, broadcast, reshape of contiguous data) only build a new `Layout`.

use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub shape: Vec<usize>,
    /// Element strides; 0 marks a broadcast axis.
    pub strides: Vec<usize>,
    pub offset: usize,
}

pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    strides
}

pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

impl Layout {
    pub fn contiguous(shape: &[usize]) -> Self {
        Layout { shape: shape.to_vec(), strides: contiguous_strides(shape), offset: 0 }
    }

    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1;
        for (&d, &s) in self.shape.iter().zip(&self.strides).rev() {
            if d != 1 && s != expected {
                return false;
            }
            expected *= d;
        }
        true
    }

    /// This view reshaped to `shape` (same element count) without moving
    /// data, when every run of axes that `shape` merges or splits walks
    /// memory with one stride: a narrowed column block split into heads, a
    /// time step with its unit axis dropped. None when a copy is needed.
    pub fn reshape_view(&self, shape: &[usize]) -> Option<Layout> {
        let mut strides = vec![0; shape.len()];
        if self.shape.contains(&0) || self.rank() == 0 {
            // Nothing to address (or one element): any strides do.
            return (shape.iter().product::<usize>() == self.shape.iter().product::<usize>()).then(|| Layout {
                shape: shape.to_vec(),
                strides,
                offset: self.offset,
            });
        }
        // Walk the old axes from the last, cutting them into chunks that are
        // contiguous among themselves; the new axes must tile each chunk.
        let mut next_new = shape.len();
        let (mut base, mut old_span, mut new_span) = (self.strides[self.rank() - 1], 1, 1);
        for ax in (0..self.rank()).rev() {
            old_span *= self.shape[ax];
            let chunk_ends = ax == 0 || (self.shape[ax - 1] != 1 && self.strides[ax - 1] != old_span * base);
            if !chunk_ends {
                continue;
            }
            while next_new > 0 && (new_span < old_span || shape[next_new - 1] == 1) {
                next_new -= 1;
                strides[next_new] = new_span * base;
                new_span *= shape[next_new];
            }
            if new_span != old_span {
                return None;
            }
            if ax > 0 {
                (base, old_span, new_span) = (self.strides[ax - 1], 1, 1);
            }
        }
        (next_new == 0).then(|| Layout { shape: shape.to_vec(), strides, offset: self.offset })
    }

    pub fn permute(&self, dims: &[usize]) -> Result<Layout> {
        let mut seen = vec![false; self.rank()];
        if dims.len() != self.rank() || dims.iter().any(|&d| d >= self.rank() || std::mem::replace(&mut seen[d], true)) {
            return Err(Error::InvalidArgument { op: "permute", reason: format!("{dims:?} is not a permutation of {} axes", self.rank()) });
        }
        Ok(Layout { shape: dims.iter().map(|&d| self.shape[d]).collect(), strides: dims.iter().map(|&d| self.strides[d]).collect(), offset: self.offset })
    }

    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Result<Layout> {
        if axis >= self.rank() || start + len > self.shape[axis] {
            return Err(Error::InvalidArgument { op: "slice", reason: format!("[{start}, {}) out of range for axis {axis} of {:?}", start + len, self.shape) });
        }
        let mut out = self.clone();
        out.offset += start * self.strides[axis];
        out.shape[axis] = len;
        Ok(out)
    }

    /// NumPy broadcasting of this view to `shape` (stride 0 on expanded axes).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Layout> {
        if shape.len() < self.rank() {
            return Err(Error::ShapeMismatch { op: "broadcast", lhs: self.shape.clone(), rhs: shape.to_vec() });
        }
        let lead = shape.len() - self.rank();
        let mut strides = vec![0; shape.len()];
        for (i, &d) in shape.iter().enumerate().skip(lead) {
            let (sd, ss) = (self.shape[i - lead], self.strides[i - lead]);
            strides[i] = if sd == d {
                ss
            } else if sd == 1 {
                0
            } else {
                return Err(Error::ShapeMismatch { op: "broadcast", lhs: self.shape.clone(), rhs: shape.to_vec() });
            };
        }
        Ok(Layout { shape: shape.to_vec(), strides, offset: self.offset })
    }

    /// Flat storage index of every element, in row-major order of the view.
    pub fn indices(&self) -> StridedIndex<'_> {
        StridedIndex { layout: self, pos: vec![0; self.rank()], next: if self.numel() == 0 { None } else { Some(self.offset) } }
    }
}

/// Broadcast shape of two shapes under NumPy rules.
pub fn broadcast_shape(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank { a[i + a.len() - rank] } else { 1 };
        let db = if i + b.len() >= rank { b[i + b.len() - rank] } else { 1 };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::ShapeMismatch { op, lhs: a.to_vec(), rhs: b.to_vec() });
        };
    }
    Ok(out)
}

pub struct StridedIndex<'a> {
    layout: &'a Layout,
    pos: Vec<usize>,
    next: Option<usize>,
}

impl Iterator for StridedIndex<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        let current = self.next?;
        let mut idx = current;
        let mut advanced = false;
        for ax in (0..self.pos.len()).rev() {
            let (d, s) = (self.layout.shape[ax], self.layout.strides[ax]);
            if self.pos[ax] + 1 < d {
                self.pos[ax] += 1;
                idx += s;
                advanced = true;
                break;
            }
            idx -= self.pos[ax] * s;
            self.pos[ax] = 0;
        }
        self.next = if advanced { Some(idx) } else { None };
        Some(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_index_walks_a_transpose() {
        let l = Layout::contiguous(&[2, 3]).permute(&[1, 0]).unwrap();
        assert_eq!(l.indices().collect::<Vec<_>>(), vec![0, 3, 1, 4, 2, 5]);
        assert!(!l.is_contiguous());
    }

    #[test]
    fn reshape_views_walk_the_same_elements() {
        let heads = Layout::contiguous(&[2, 3, 12]).narrow(2, 4, 4).unwrap();
        let step = Layout::contiguous(&[2, 5, 3]).narrow(1, 2, 1).unwrap();
        let permuted = Layout::contiguous(&[2, 3, 4, 1]).permute(&[0, 2, 1, 3]).unwrap();
        for (l, shape) in
            [(&heads, &[2, 3, 2, 2][..]), (&heads, &[6, 4]), (&heads, &[1, 2, 3, 4, 1]), (&step, &[2, 3]), (&step, &[2, 1, 1, 3]), (&permuted, &[2, 4, 3])]
        {
            let v = l.reshape_view(shape).unwrap_or_else(|| panic!("{shape:?} of {l:?} is a view"));
            assert_eq!(v.shape, shape);
            assert_eq!(v.indices().collect::<Vec<_>>(), l.indices().collect::<Vec<_>>(), "{shape:?} of {l:?}");
        }
        // Merging axes that do not walk memory evenly needs a copy.
        assert!(heads.reshape_view(&[2, 12]).is_none());
        assert!(permuted.reshape_view(&[8, 3]).is_none());
        assert!(Layout::contiguous(&[2, 3]).permute(&[1, 0]).unwrap().reshape_view(&[6]).is_none());
    }

    #[test]
    fn broadcast_rules() {
        assert_eq!(broadcast_shape("t", &[3, 1], &[4]).unwrap(), vec![3, 4]);
        assert!(broadcast_shape("t", &[3], &[4]).is_err());
        let l = Layout::contiguous(&[3, 1]).broadcast_to(&[2, 3, 4]).unwrap();
        assert_eq!(l.strides, vec![0, 1, 0]);
    }
}
