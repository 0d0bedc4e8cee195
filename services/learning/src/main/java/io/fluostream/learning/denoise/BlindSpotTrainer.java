package io.fluostream.learning.denoise;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Trains a {@link UNet} denoiser step by step on {@link TrainingCrop}s, in the variance-stabilised
 * domain. Self-supervised crops (no target) train with the blind-spot loss: mean squared error
 * between the network's output and the noisy input, only at the {@link BlindSpotMask}ed pixels;
 * because the noise has unit variance there, the loss is 1 + the squared error against the clean
 * value, so it ranks models as the (unknowable) clean error would. Crops with a target (CARE: a
 * high-SNR image of the same scene) train with the plain squared error on every pixel.
 *
 * <p>Patches are drawn at random positions and in one of the eight orientations of the square
 * (fluorescence has no preferred direction). Owns native memory: close it. One thread at a time.
 */
public final class BlindSpotTrainer implements AutoCloseable {

    /** Seed of the validation masks: every validation of every model masks the same pixels. */
    private static final long VALIDATION_SEED = 0x5EED_0F_BA1DL;

    private final DenoiserDesign design;
    private final TrainingSettings settings;
    private final Normalisation normalisation;
    private final Model model;
    private final Trainer trainer;
    private final SplittableRandom random;
    private final BlindSpotMask mask;
    private final ClassicalGuide guide = new ClassicalGuide();
    private long steps;

    public BlindSpotTrainer(DenoiserDesign design, TrainingSettings settings, Normalisation normalisation, Device device, long seed) {
        Torch.init();
        this.design = design;
        this.settings = settings;
        this.normalisation = normalisation;
        this.random = new SplittableRandom(seed);
        this.mask = new BlindSpotMask(settings.maskFraction(), settings.maskRadius(), random.split());
        ai.djl.engine.Engine.getEngine("PyTorch").setRandomSeed((int) seed);
        this.model = Model.newInstance("denoise-unet", device);
        model.setBlock(UNet.denoiser(design));
        DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.l2Loss())
                .optDevices(new Device[] {device})
                .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed((float) settings.learningRate())).build());
        this.trainer = model.newTrainer(config);
        int m = design.unet().sizeMultiple();
        trainer.initialize(new Shape(1, design.unet().inputChannels(), m, m));
        if (design.classicalGuide()) {
            UNet.zeroOutput(model.getBlock());
        }
    }

    public DenoiserDesign design() {
        return design;
    }

    public TrainingSettings settings() {
        return settings;
    }

    public Normalisation normalisation() {
        return normalisation;
    }

    public long steps() {
        return steps;
    }

    /**
     * One optimisation step on a batch drawn from {@code pool}.
     *
     * @return the batch's loss in stabilised units (blind-spot: ≈ 1 + error² against clean)
     */
    public double step(List<TrainingCrop> pool) {
        if (pool.isEmpty()) {
            throw new IllegalArgumentException("no training crops");
        }
        int p = patchSize(pool);
        Batch b = new Batch(settings.batchSize(), p);
        for (int i = 0; i < settings.batchSize(); i++) {
            TrainingCrop crop = pool.get(random.nextInt(pool.size()));
            int y0 = random.nextInt(crop.height() - p + 1);
            int x0 = random.nextInt(crop.width() - p + 1);
            b.put(i, crop, y0, x0, random.nextInt(8), mask);
        }
        double loss;
        try (NDManager scope = trainer.getManager().newSubManager()) {
            NDList in = b.arrays(scope);
            try (GradientCollector gc = trainer.newGradientCollector()) {
                NDArray pred = trainer.forward(new NDList(in.get(0))).singletonOrThrow();
                NDArray l = maskedLoss(pred, in.get(1), in.get(2));
                gc.backward(l);
                loss = l.getFloat();
            }
            trainer.step();
        }
        steps++;
        return loss * normalisation.scale() * normalisation.scale();
    }

    /**
     * The held-out score: the same loss on {@code heldOut} crops (their centres, upright), with
     * blind spots from a fixed seed so scores of different models compare. Lower is better.
     */
    public double validate(List<TrainingCrop> heldOut) {
        return validate(trainer.getModel().getBlock(), heldOut);
    }

    double validate(ai.djl.nn.Block block, List<TrainingCrop> heldOut) {
        if (heldOut.isEmpty()) {
            throw new IllegalArgumentException("no held-out crops");
        }
        int p = patchSize(heldOut);
        BlindSpotMask fixed = new BlindSpotMask(settings.maskFraction(), settings.maskRadius(), new SplittableRandom(VALIDATION_SEED));
        Batch b = new Batch(heldOut.size(), p);
        for (int i = 0; i < heldOut.size(); i++) {
            TrainingCrop crop = heldOut.get(i);
            b.put(i, crop, (crop.height() - p) / 2, (crop.width() - p) / 2, 0, fixed);
        }
        try (NDManager scope = trainer.getManager().newSubManager()) {
            NDList in = b.arrays(scope);
            NDArray pred = block.forward(new ai.djl.training.ParameterStore(scope, false), new NDList(in.get(0)), false).singletonOrThrow();
            return maskedLoss(pred, in.get(1), in.get(2)).getFloat() * normalisation.scale() * normalisation.scale();
        }
    }

    /** The weights now, in DJL's format (what {@link DenoisingNetwork#load} reads). */
    public byte[] weights() {
        return DenoisingNetwork.weightsOf(model.getBlock());
    }

    /** Sum of squared errors at the marked pixels over their count. */
    static NDArray maskedLoss(NDArray pred, NDArray target, NDArray mask) {
        NDArray err = pred.sub(target).square().mul(mask);
        return err.sum().div(mask.sum().maximum(1f));
    }

    private int patchSize(List<TrainingCrop> crops) {
        int smallest = Integer.MAX_VALUE;
        for (TrainingCrop c : crops) {
            smallest = Math.min(smallest, Math.min(c.height(), c.width()));
        }
        int m = design.unet().sizeMultiple();
        int p = Math.min(settings.patchSize(), smallest) / m * m;
        if (p < m) {
            throw new IllegalArgumentException("training crops of " + smallest + " px are smaller than the network's "
                    + m + "-px size multiple");
        }
        return p;
    }

    @Override
    public void close() {
        trainer.close();
        model.close();
    }

    /** A batch of patches: normalised inputs, targets and the loss mask, as flat arrays. */
    private final class Batch {
        final int n;
        final int p;
        final int cin = design.unet().inputChannels();
        final int c = design.channels();
        final float[] input;
        final float[] target;
        final float[] weight;

        Batch(int n, int p) {
            this.n = n;
            this.p = p;
            input = new float[n * cin * p * p];
            target = new float[n * c * p * p];
            weight = new float[n * c * p * p];
        }

        /** Copies one oriented patch of {@code crop} into slot {@code i}, masking it if self-supervised. */
        void put(int i, TrainingCrop crop, int y0, int x0, int orientation, BlindSpotMask blindSpots) {
            if (crop.frames() != design.frames() || crop.channels() != c) {
                throw new IllegalArgumentException("crop has " + crop.frames() + " frame(s) of " + crop.channels()
                        + " channels; the network takes " + design.frames() + " of " + c);
            }
            int pp = p * p;
            int in0 = i * cin * pp;
            int t0 = i * c * pp;
            for (int plane = 0; plane < crop.frames() * c; plane++) {
                copyOriented(crop.planes(), plane * crop.height() * crop.width(), crop.width(), y0, x0, orientation,
                        input, in0 + plane * pp);
            }
            if (crop.target() == null) {
                System.arraycopy(input, in0, target, t0, c * pp);
                blindSpots.apply(input, in0, c, p, p, weight, t0);
            } else {
                for (int ch = 0; ch < c; ch++) {
                    copyOriented(crop.target(), ch * crop.height() * crop.width(), crop.width(), y0, x0, orientation,
                            target, t0 + ch * pp);
                }
                java.util.Arrays.fill(weight, t0, t0 + c * pp, 1f);
            }
            if (design.classicalGuide()) {
                // From the masked planes: the guide must not see a blind spot's value either.
                guide.computeNormalised(input, in0, c, p, p, normalisation, input, in0 + design.guideOffset() * pp);
            }
        }

        private void copyOriented(float[] src, int srcPlane, int srcWidth, int y0, int x0, int orientation, float[] dst, int dstPlane) {
            boolean transpose = (orientation & 4) != 0;
            boolean flipY = (orientation & 1) != 0;
            boolean flipX = (orientation & 2) != 0;
            for (int py = 0; py < p; py++) {
                for (int px = 0; px < p; px++) {
                    int a = transpose ? px : py;
                    int b = transpose ? py : px;
                    int sy = y0 + (flipY ? p - 1 - a : a);
                    int sx = x0 + (flipX ? p - 1 - b : b);
                    dst[dstPlane + py * p + px] = normalisation.in(src[srcPlane + sy * srcWidth + sx]);
                }
            }
        }

        NDList arrays(NDManager m) {
            return new NDList(m.create(input, new Shape(n, cin, p, p)),
                    m.create(target, new Shape(n, c, p, p)),
                    m.create(weight, new Shape(n, c, p, p)));
        }
    }
}
