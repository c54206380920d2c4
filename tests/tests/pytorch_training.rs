//! A trained run handed to PyTorch (`SpecTrainer::pytorch_files`) trains on
//! there: `python train.py` and `torchrun --nproc_per_node=2 train.py`
//! (DistributedDataParallel on gloo) both run, lower the loss, and save
//! weights that load back into the nnlab model. Without PyTorch (CI), the
//! folder is checked for what train.py reads: the weights are the model's
//! `state_dict`, the data is the run's, the settings are the spec's.

use std::path::Path;
use std::process::Command;

use nnlab_core::Device;
use nnlab_nn::Module;
use nnlab_nn::spec::{ModelSpec, SpecTrainer, state_dict};
use nnlab_nn::weights::{load_params, read_safetensors};
use nnlab_tests::torch_python;

fn trained(name: &str, steps: usize) -> SpecTrainer {
    let json =
        nnlab_tests::preset_files().into_iter().find(|(n, _)| *n == format!("{name}.json")).map(|(_, j)| j).unwrap_or_else(|| panic!("no preset {name}"));
    let mut t = pollster::block_on(SpecTrainer::new(&ModelSpec::from_json(&json).unwrap(), Device::Cpu)).unwrap();
    t.train(steps).unwrap();
    t
}

fn write_folder(t: &SpecTrainer, dir: &Path) {
    let state = pollster::block_on(t.export_state()).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in t.pytorch_files(&state, &t.spec.to_json()).unwrap() {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// The loss lines train.py printed: (step, test loss).
fn test_losses(stdout: &str) -> Vec<(u64, f32)> {
    stdout
        .lines()
        .filter_map(|l| {
            let step = l.split("step ").nth(1)?.split(':').next()?.trim().parse().ok()?;
            let loss = l.split("test loss ").nth(1)?.split(',').next()?.trim().parse().ok()?;
            Some((step, loss))
        })
        .collect()
}

#[test]
fn the_folder_holds_what_train_py_reads() {
    for name in ["playground-spiral", "digits-cnn", "parity-gru"] {
        let t = trained(name, 3);
        let dir = std::env::temp_dir().join(format!("nnlab-pt-{}-{name}", std::process::id()));
        write_folder(&t, &dir);
        let (weights, _) = read_safetensors(&std::fs::read(dir.join("weights.safetensors")).unwrap()).unwrap();
        let expected = state_dict(&t.model);
        assert_eq!(weights.len(), expected.len(), "{name}: every state_dict entry, nothing else");
        for (n, tensor) in &expected {
            assert_eq!(weights[n].shape, tensor.shape(), "{name}: {n}");
            assert_eq!(weights[n].values, pollster::block_on(tensor.to_vec()).unwrap(), "{name}: {n} as trained");
        }
        let (data, _) = read_safetensors(&std::fs::read(dir.join("data.safetensors")).unwrap()).unwrap();
        assert_eq!(data["x_train"].values, t.data().train.x, "{name}: the run's training inputs");
        assert_eq!(data["y_test"].values, t.data().test.y, "{name}: the run's test targets");
        let training: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("training.json")).unwrap()).unwrap();
        let spec = &t.spec;
        assert_eq!(training["step"], 3);
        assert_eq!(training["batchSize"], spec.training.as_ref().unwrap().batch_size);
        assert_eq!(training["optimizer"]["name"], serde_json::to_value(spec.optimizer.unwrap()).unwrap()["name"]);
        assert!(std::fs::read_to_string(dir.join("model.py")).unwrap().contains("class Model("));
        assert!(std::fs::read_to_string(dir.join("train.py")).unwrap().contains("DistributedDataParallel"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn exported_runs_train_on_in_pytorch_alone_and_under_torchrun() {
    let Some(python) = torch_python() else {
        eprintln!("PyTorch is not installed: train.py is not run (the folder's contents are checked by the other test)");
        return;
    };
    let torchrun = Path::new(&python).with_file_name("torchrun");
    for (name, steps) in [("playground-spiral", 300), ("digits-cnn", 40), ("parity-gru", 40)] {
        let t = trained(name, 20);
        let dir = std::env::temp_dir().join(format!("nnlab-pt-run-{}-{name}", std::process::id()));
        write_folder(&t, &dir);
        let runs = [
            Command::new(&python).current_dir(&dir).args(["train.py", "--steps", &steps.to_string(), "--out", "alone.safetensors"]).output().unwrap(),
            Command::new(&torchrun)
                .current_dir(&dir)
                .args(["--nproc_per_node=2", "train.py", "--steps", &steps.to_string(), "--out", "ddp.safetensors"])
                .env("OMP_NUM_THREADS", "1")
                .output()
                .unwrap(),
        ];
        for (out, how, file) in [(&runs[0], "python train.py", "alone.safetensors"), (&runs[1], "torchrun --nproc_per_node=2", "ddp.safetensors")] {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{name} under {how} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
            let losses = test_losses(&stdout);
            let (first, last) = (losses.first().unwrap(), losses.last().unwrap());
            assert_eq!((first.0, last.0), (20, 20 + steps as u64), "{name} under {how}: it starts at the exported step:\n{stdout}");
            assert!(last.1 < first.1, "{name} under {how}: test loss {} -> {}:\n{stdout}", first.1, last.1);
            eprintln!("{name} under {how}: test loss {:.4} at step {} -> {:.4} at step {}", first.1, first.0, last.1, last.0);
            // What PyTorch saved loads back into the nnlab model.
            let (saved, _) = read_safetensors(&std::fs::read(dir.join(file)).unwrap()).unwrap();
            load_params(&t.model.parameters(), &saved, "").unwrap();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
