// The reference workloads written with TensorFlow.js 4.22 ops (the global `tf`
// from the npm package's bundles), one contender of the browser benchmark.
/* global tf */

const glorot = (shape, seed) => tf.variable(tf.initializers.glorotUniform({ seed }).apply(shape));
const zeros = (shape) => tf.variable(tf.zeros(shape));
const ones = (shape) => tf.variable(tf.ones(shape));
const dense = (x, w, b) => tf.add(tf.matMul(x, w), b);

function layerNorm(x, gamma, beta) {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta);
}

function geluTanh(x) {
  const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
}

// Builds the model of workload `id`: its variables and forward function.
function model(id) {
  switch (id) {
    case 'mlp-spiral': {
      const v = [glorot([2, 16], 1), zeros([16]), glorot([16, 16], 2), zeros([16]), glorot([16, 2], 3), zeros([2])];
      return { vars: v, forward: (x) => dense(tf.tanh(dense(tf.tanh(dense(x, v[0], v[1])), v[2], v[3])), v[4], v[5]) };
    }
    case 'cnn-28': {
      const v = [glorot([3, 3, 1, 8], 1), zeros([8]), glorot([3, 3, 8, 16], 2), zeros([16]), glorot([784, 10], 3), zeros([10])];
      return {
        vars: v,
        forward: (x) => {
          let h = tf.maxPool(tf.relu(tf.add(tf.conv2d(x, v[0], 1, 'same'), v[1])), 2, 2, 'valid');
          h = tf.maxPool(tf.relu(tf.add(tf.conv2d(h, v[2], 1, 'same'), v[3])), 2, 2, 'valid');
          return dense(tf.reshape(h, [x.shape[0], 784]), v[4], v[5]);
        },
      };
    }
    case 'lstm-seq': {
      // One matmul per time step over [x_t, h] with the gates i, f, g, o side by side.
      const hidden = 64;
      const v = [glorot([8 + hidden, 4 * hidden], 1), zeros([4 * hidden]), glorot([hidden, 4], 2), zeros([4])];
      return {
        vars: v,
        forward: (x) => {
          const batch = x.shape[0];
          let h = tf.zeros([batch, hidden]), c = tf.zeros([batch, hidden]);
          for (const xt of tf.unstack(x, 1)) {
            const gates = dense(tf.concat([xt, h], 1), v[0], v[1]);
            const [i, f, g, o] = tf.split(gates, 4, 1);
            c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
            h = tf.mul(tf.sigmoid(o), tf.tanh(c));
          }
          return dense(h, v[2], v[3]);
        },
      };
    }
    case 'transformer-block': {
      // Pre-LN encoder block: x + MHA(LN(x)), then + MLP(LN(.)) with GELU; mean over time; dense 4.
      const [d, heads, mlp] = [64, 4, 256];
      const v = {
        ln1g: ones([d]), ln1b: zeros([d]), wqkv: glorot([d, 3 * d], 1), bqkv: zeros([3 * d]), wo: glorot([d, d], 2), bo: zeros([d]),
        ln2g: ones([d]), ln2b: zeros([d]), w1: glorot([d, mlp], 3), b1: zeros([mlp]), w2: glorot([mlp, d], 4), b2: zeros([d]),
        wc: glorot([d, 4], 5), bc: zeros([4]),
      };
      return {
        vars: Object.values(v),
        forward: (x) => {
          const [batch, seq] = x.shape;
          const h = tf.reshape(layerNorm(x, v.ln1g, v.ln1b), [batch * seq, d]);
          const qkv = tf.reshape(dense(h, v.wqkv, v.bqkv), [batch, seq, 3, heads, d / heads]);
          const [q, k, val] = tf.unstack(tf.transpose(qkv, [2, 0, 3, 1, 4]));
          const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d / heads));
          const attn = tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores), val), [0, 2, 1, 3]), [batch * seq, d]);
          const x1 = tf.add(tf.reshape(x, [batch * seq, d]), dense(attn, v.wo, v.bo));
          const m = dense(geluTanh(dense(layerNorm(x1, v.ln2g, v.ln2b), v.w1, v.b1)), v.w2, v.b2);
          const x2 = tf.reshape(tf.add(x1, m), [batch, seq, d]);
          return dense(tf.mean(x2, 1), v.wc, v.bc);
        },
      };
    }
    default:
      throw new Error(`unknown workload ${id}`);
  }
}

// A contender for the protocol: step() queues one step, read() waits for its loss.
export function tfjsContender(id, spec, data) {
  if (spec.n) {
    const a = tf.tensor2d(data.a, [spec.n, spec.n]), b = tf.tensor2d(data.b, [spec.n, spec.n]);
    let c = null;
    return {
      step() { if (c) c.dispose(); c = tf.matMul(a, b); },
      async read() { await c.data(); },
    };
  }
  const shape = [spec.batch, ...spec.input];
  const batches = data.batches.map((b) => ({ x: tf.tensor(b.x, shape), y: tf.oneHot(tf.tensor1d(b.y, 'int32'), spec.classes) }));
  const m = model(id);
  const opt = tf.train.adam(0.001, 0.9, 0.999, 1e-7);
  let i = 0, loss = null;
  return {
    step() {
      const { x, y } = batches[i++ % batches.length];
      if (loss) loss.dispose();
      loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, m.forward(x)), true, m.vars);
    },
    async read() { await loss.data(); },
  };
}
