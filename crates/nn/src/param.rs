//! A trainable tensor that optimizers replace in place between steps.

use std::cell::RefCell;
use std::rc::Rc;

use nnlab_core::Tensor;

#[derive(Clone, Debug)]
pub struct Param(Rc<RefCell<Tensor>>);

impl Param {
    pub fn new(t: Tensor) -> Param {
        Param(Rc::new(RefCell::new(t.detach().requires_grad_())))
    }
    /// The current value (a leaf that gradients flow into).
    pub fn get(&self) -> Tensor {
        self.0.borrow().clone()
    }
    pub fn set(&self, t: Tensor) {
        *self.0.borrow_mut() = t.detach().requires_grad_();
    }
}

/// A non-trainable state tensor saved with the weights (BatchNorm's running
/// statistics), shared between the layer and whoever saves or loads it.
#[derive(Clone, Debug)]
pub struct Buffer(Rc<RefCell<Tensor>>);

impl Buffer {
    pub fn new(t: Tensor) -> Buffer {
        Buffer(Rc::new(RefCell::new(t.detach())))
    }
    pub fn get(&self) -> Tensor {
        self.0.borrow().clone()
    }
    pub fn set(&self, t: Tensor) {
        *self.0.borrow_mut() = t.detach();
    }
}
