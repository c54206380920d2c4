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

    /// This view reshaped to `shape` when the two differ only in axes of
    /// size 1 (the other axes keep their order, sizes and strides).
    pub fn reshape_unit_axes(&self, shape: &[usize]) -> Option<Layout> {
        let kept: Vec<(usize, usize)> = self.shape.iter().copied().zip(self.strides.iter().copied()).filter(|&(d, _)| d != 1).collect();
        let wanted: Vec<usize> = shape.iter().copied().filter(|&d| d != 1).collect();
        if kept.len() != wanted.len() || kept.iter().zip(&wanted).any(|(&(d, _), &w)| d != w) {
            return None;
        }
        let mut strides = kept.iter().map(|&(_, s)| s);
        let strides = shape.iter().map(|&d| if d == 1 { 0 } else { strides.next().expect("as many axes as kept") }).collect();
        Some(Layout { shape: shape.to_vec(), strides, offset: self.offset })
    }

    pub fn permute(&self, dims: &[usize]) -> Result<Layout> {
        let mut seen = vec![false; self.rank()];
        if dims.len() != self.rank() || dims.iter().any(|&d| d >= self.rank() || std::mem::replace(&mut seen[d], true)) {
            return Err(Error::InvalidArgument { op: "permute", reason: format!("{dims:?} is not a permutation of {} axes", self.rank()) });
        }
        Ok(Layout {
            shape: dims.iter().map(|&d| self.shape[d]).collect(),
            strides: dims.iter().map(|&d| self.strides[d]).collect(),
            offset: self.offset,
        })
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
            strides[i] = if sd == d { ss } else if sd == 1 { 0 } else {
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
        out[i] = if da == db || db == 1 { da } else if da == 1 { db } else {
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
    fn broadcast_rules() {
        assert_eq!(broadcast_shape("t", &[3, 1], &[4]).unwrap(), vec![3, 4]);
        assert!(broadcast_shape("t", &[3], &[4]).is_err());
        let l = Layout::contiguous(&[3, 1]).broadcast_to(&[2, 3, 4]).unwrap();
        assert_eq!(l.strides, vec![0, 1, 0]);
    }
}
