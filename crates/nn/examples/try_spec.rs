use nnlab_core::Device;
use nnlab_nn::spec::{ModelSpec, SpecTrainer};
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let every: usize = std::env::args().nth(2).map(|s| s.parse().unwrap()).unwrap_or(200);
    let spec = ModelSpec::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let steps = spec.training.as_ref().unwrap().steps;
    let mut t = pollster::block_on(SpecTrainer::new(&spec, Device::Cpu)).unwrap();
    let start = std::time::Instant::now();
    while (t.steps_done() as usize) < steps {
        t.train(every).unwrap();
        let m = pollster::block_on(t.metrics()).unwrap();
        println!("{} {:.4} {:.4} {:?} {:.1}s", m.step, m.train_loss, m.test_loss, m.test_accuracy, start.elapsed().as_secs_f32());
    }
}
