package io.fluostream.learning.unmix;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.CosineTracker;
import ai.djl.training.tracker.Tracker;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.denoise.ClassicalDenoiser;
import io.fluostream.imaging.sim.CameraNoise;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulatedFrame;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.imaging.sim.SpectralMixing;
import io.fluostream.imaging.unmix.NnlsUnmixer;
import io.fluostream.imaging.unmix.ReferenceSpectra;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Trains {@link UnmixNetwork} for given spectra on mixtures simulated by the rig's forward model,
 * as the unmix stage sees them: the forward model's abundances (cells, nuclei, filaments,
 * puncta, PSF, background), mixed with <em>these</em> spectra, exposed with Poisson–Gaussian
 * camera noise and denoised by {@link ClassicalDenoiser} (the denoise stage's fallback, so the
 * unmix stage's input). Targets are the true abundances. Photon levels are drawn log-uniformly
 * from a range, so one model serves them all.
 *
 * <p>Sized for a 2-core CPU: small frames, small crops, a few thousand steps (minutes). The
 * model runs on DJL's default device (a GPU when the gpu profile found one).
 */
public final class UnmixTrainer {

    /**
     * @param frames            simulated training frames (each a different stream, time and photon level)
     * @param frameSize         side of the simulated frames, px
     * @param photonsMin        lowest photon level (photo-electrons per unit abundance)
     * @param photonsMax        highest photon level
     * @param steps             optimiser steps
     * @param batch             crops per step
     * @param crop              side of a crop, px
     * @param learningRate      Adam learning rate at the first step
     * @param finalLearningRate Adam learning rate at the last step: the rate falls along a half
     *                          cosine in between (equal to {@code learningRate}: a fixed rate)
     * @param width             filters per hidden layer
     * @param seed              seed of the simulation, the crops and the initial weights
     */
    public record Settings(int frames, int frameSize, double photonsMin, double photonsMax, int steps, int batch,
                           int crop, float learningRate, float finalLearningRate, int width, long seed) {

        public Settings {
            if (frames < 1 || steps < 1 || batch < 1 || width < 1) {
                throw new IllegalArgumentException("frames, steps, batch and width must be >= 1");
            }
            if (crop < 16 || crop > frameSize) {
                throw new IllegalArgumentException("crop must be 16.." + frameSize + " px, got " + crop);
            }
            if (!(photonsMin > 0) || !(photonsMax >= photonsMin)) {
                throw new IllegalArgumentException("photon range must satisfy 0 < min <= max, got " + photonsMin
                        + ".." + photonsMax);
            }
            if (!(learningRate > 0) || !(finalLearningRate > 0) || finalLearningRate > learningRate) {
                throw new IllegalArgumentException("learning rates must satisfy 0 < final <= first, got " + learningRate
                        + " -> " + finalLearningRate);
            }
        }

        /**
         * The first stage of the shipped model: from random weights, 1–30 photons, a fixed rate
         * (a few minutes on 2 cores). On its own it reached 0.84 × NNLS's error at 2 photons.
         */
        public static Settings shipped() {
            return new Settings(48, 128, 1, 30, 3000, 8, 48, 1e-3f, 1e-3f, 24, 7);
        }

        /**
         * The second stage of the shipped model ({@link #fineTune}): 1500 more steps on fresh
         * frames of 1–10 photons, where the network matters most, with the rate falling from 3e-4
         * to 1.5e-5 so that the last steps average out the crop-to-crop noise of the gradient.
         */
        public static Settings lowLightFineTune() {
            return new Settings(48, 128, 1, 10, 1500, 8, 48, 3e-4f, 1.5e-5f, 24, 11);
        }
    }

    /** One simulated training frame: stacked scaled input and scaled target planes. */
    record Sample(float[] input, float[] target, int height, int width) {
    }

    /** Loss at the start and end of training (mean of up to 50 steps each). */
    public record Progress(double firstLoss, double lastLoss, int steps, double seconds) {
    }

    private UnmixTrainer() {
    }

    /**
     * Trains a model for {@code spectra}.
     *
     * @param log receives a progress line now and then (may be null)
     */
    public static LearnedUnmixer train(ReferenceSpectra spectra, Settings settings, Consumer<String> log) {
        return train(spectra, settings, log, new double[2][]);
    }

    /**
     * As {@link #train(ReferenceSpectra, Settings, Consumer)}; {@code losses[0]} receives every
     * step's loss, {@code losses[1]} the loss on a fixed batch before and after training.
     */
    static LearnedUnmixer train(ReferenceSpectra spectra, Settings settings, Consumer<String> log, double[][] losses) {
        return train(spectra, settings, log, losses, null);
    }

    /**
     * Trains {@code start} further with {@code settings} (e.g. {@link Settings#lowLightFineTune()}
     * on a model trained with {@link Settings#shipped()}); {@code start} is left as it was. The
     * result's card counts the steps of both and spans both photon ranges.
     *
     * @throws IllegalArgumentException if {@code settings.width()} is not {@code start}'s
     */
    public static LearnedUnmixer fineTune(LearnedUnmixer start, Settings settings, Consumer<String> log) {
        return fineTune(start, settings, log, new double[2][]);
    }

    /** As {@link #fineTune(LearnedUnmixer, Settings, Consumer)}, with the losses as in {@link #train}. */
    static LearnedUnmixer fineTune(LearnedUnmixer start, Settings settings, Consumer<String> log, double[][] losses) {
        if (start.card().width() != settings.width()) {
            throw new IllegalArgumentException("cannot fine-tune a model of width " + start.card().width()
                    + " with settings of width " + settings.width());
        }
        return train(start.spectra(), settings, log, losses, start);
    }

    private static LearnedUnmixer train(ReferenceSpectra spectra, Settings settings, Consumer<String> log,
                                        double[][] losses, LearnedUnmixer from) {
        long start = System.nanoTime();
        Consumer<String> out = log == null ? s -> { } : log;
        out.accept("simulating " + settings.frames() + " denoised frames for spectra " + spectra.fingerprint() + " ...");
        List<Sample> samples = simulate(spectra, settings);
        int nc = spectra.channels();
        int nf = spectra.fluorophores();
        Engine.getInstance().setRandomSeed((int) settings.seed());
        Block block = UnmixNetwork.build(nc, nf, settings.width());
        double[] history = new double[settings.steps()];
        try (Model model = Model.newInstance("unmix-cnn")) {
            model.setBlock(block);
            if (from != null) {
                // Parameters that are already set are kept by the trainer's initialisation.
                block.initialize(model.getNDManager(), DataType.FLOAT32, UnmixNetwork.inputShape(1, nc, nf, 32, 32));
                try {
                    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                    from.saveParameters(bytes);
                    block.loadParameters(model.getNDManager(),
                            new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
                } catch (IOException | MalformedModelException e) {
                    throw new IllegalStateException("could not copy the starting model's weights: " + e.getMessage(), e);
                }
            }
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.l2Loss())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(learningRate(settings)).build());
            SplittableRandom rng = new SplittableRandom(settings.seed() * 31 + 1);
            int c = settings.crop();
            try (Trainer trainer = model.newTrainer(config)) {
                trainer.initialize(UnmixNetwork.inputShape(settings.batch(), nc, nf, c, c));
                float[] in = new float[settings.batch() * (nc + nf) * c * c];
                float[] target = new float[settings.batch() * nf * c * c];
                // A fixed batch to measure progress on: the training loss of random crops is noisy.
                float[] checkIn = new float[in.length];
                float[] checkTarget = new float[target.length];
                SplittableRandom checkRng = new SplittableRandom(settings.seed() * 31 + 2);
                for (int b = 0; b < settings.batch(); b++) {
                    crop(samples.get(b % samples.size()), nc + nf, nf, c, checkRng, checkIn, b, checkTarget);
                }
                double checkBefore = evaluate(trainer, checkIn, checkTarget, settings.batch(), nc, nf, c);
                for (int step = 0; step < settings.steps(); step++) {
                    for (int b = 0; b < settings.batch(); b++) {
                        Sample s = samples.get(rng.nextInt(samples.size()));
                        crop(s, nc + nf, nf, c, rng, in, b, target);
                    }
                    try (NDManager m = trainer.getManager().newSubManager()) {
                        NDArray x = m.create(in, UnmixNetwork.inputShape(settings.batch(), nc, nf, c, c));
                        NDArray y = m.create(target, new ai.djl.ndarray.types.Shape(settings.batch(), nf, c, c));
                        try (GradientCollector gc = trainer.newGradientCollector()) {
                            NDArray prediction = trainer.forward(new NDList(x)).singletonOrThrow();
                            NDArray loss = trainer.getLoss().evaluate(new NDList(y), new NDList(prediction));
                            gc.backward(loss);
                            history[step] = loss.getFloat();
                        }
                        trainer.step();
                    }
                    if ((step + 1) % 250 == 0) {
                        out.accept(String.format(java.util.Locale.ROOT, "step %d/%d loss %.5f", step + 1, settings.steps(),
                                mean(history, Math.max(0, step - 49), step + 1)));
                    }
                }
                losses[1] = new double[] {checkBefore, evaluate(trainer, checkIn, checkTarget, settings.batch(), nc, nf, c)};
            }
            losses[0] = history;
            double seconds = (System.nanoTime() - start) / 1e9;
            UnmixModelCard card = from == null
                    ? new UnmixModelCard(spectra, settings.width(), settings.steps(), settings.photonsMin(),
                            settings.photonsMax(), settings.frames(),
                            mean(history, Math.max(0, settings.steps() - 50), settings.steps()), seconds)
                    : new UnmixModelCard(spectra, settings.width(), from.card().steps() + settings.steps(),
                            Math.min(from.card().photonsMin(), settings.photonsMin()),
                            Math.max(from.card().photonsMax(), settings.photonsMax()),
                            from.card().frames() + settings.frames(),
                            mean(history, Math.max(0, settings.steps() - 50), settings.steps()),
                            from.card().seconds() + seconds);
            // Hand the trained parameters over to a manager the unmixer owns (the model's closes).
            return reload(block, card);
        }
    }

    /** From {@code learningRate} to {@code finalLearningRate} along a half cosine over the steps. */
    static Tracker learningRate(Settings settings) {
        if (settings.finalLearningRate() == settings.learningRate()) {
            return Tracker.fixed(settings.learningRate());
        }
        return CosineTracker.builder()
                .setBaseValue(settings.learningRate())
                .optFinalValue(settings.finalLearningRate())
                .setMaxUpdates(settings.steps())
                .build();
    }

    /** The loss on one batch, without training. */
    private static double evaluate(Trainer trainer, float[] in, float[] target, int batch, int nc, int nf, int c) {
        try (NDManager m = trainer.getManager().newSubManager()) {
            NDArray x = m.create(in, UnmixNetwork.inputShape(batch, nc, nf, c, c));
            NDArray y = m.create(target, new ai.djl.ndarray.types.Shape(batch, nf, c, c));
            NDArray prediction = trainer.evaluate(new NDList(x)).singletonOrThrow();
            return trainer.getLoss().evaluate(new NDList(y), new NDList(prediction)).getFloat();
        }
    }

    /** Mean loss over the first and last 50 steps of a training run's history. */
    public static Progress progress(double[] history, double seconds) {
        int n = history.length;
        int k = Math.min(50, n);
        return new Progress(mean(history, 0, k), mean(history, n - k, n), n, seconds);
    }

    /** Writes {@code directory/name.params} and {@code name.properties}. */
    public static void save(LearnedUnmixer unmixer, Path directory, String name) throws IOException {
        Files.createDirectories(directory);
        try (OutputStream params = Files.newOutputStream(directory.resolve(name + ".params"));
                OutputStream card = Files.newOutputStream(directory.resolve(name + ".properties"))) {
            unmixer.saveParameters(params);
            unmixer.card().write(card);
        }
    }

    private static LearnedUnmixer reload(Block block, UnmixModelCard card) {
        try {
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            try (DataOutputStream data = new DataOutputStream(new BufferedOutputStream(bytes))) {
                block.saveParameters(data);
            }
            return LearnedUnmixer.load(new java.io.ByteArrayInputStream(bytes.toByteArray()), card);
        } catch (IOException e) {
            throw new IllegalStateException("could not hand over the trained weights: " + e.getMessage(), e);
        }
    }

    /** Simulated, denoised training frames with their NNLS abundances and true abundances. */
    static List<Sample> simulate(ReferenceSpectra spectra, Settings settings) {
        SplittableRandom rng = new SplittableRandom(settings.seed());
        double[][] m = spectra.toRows();
        ClassicalDenoiser denoiser = new ClassicalDenoiser();
        List<Sample> samples = new ArrayList<>();
        try (NnlsUnmixer nnls = new NnlsUnmixer(spectra)) {
            for (int i = 0; i < settings.frames(); i++) {
                double logMin = Math.log(settings.photonsMin());
                double photons = Math.exp(logMin + rng.nextDouble() * (Math.log(settings.photonsMax()) - logMin));
                SimulationSettings s = SimulationSettings.defaults()
                        .withChannelsAndFluorophores(spectra.channels(), spectra.fluorophores())
                        .withSize(settings.frameSize(), settings.frameSize())
                        .withPhotonLevel(photons)
                        .withSeed(settings.seed() * 1000 + i);
                SimulatedFrame frame = new ForwardModel(s, i).frame(rng.nextInt(32));
                Image clean = SpectralMixing.mix(m, frame.abundances());
                Image raw = CameraNoise.of(s).expose(clean, rng.split());
                Image denoised = denoiser.denoise(raw, s.offsetAdu()).denoised();
                Image exact = nnls.unmix(denoised).abundances();
                double scale = UnmixInput.scale(denoised);
                float[] target = frame.abundances().data().clone();
                float inv = (float) (1 / scale);
                for (int k = 0; k < target.length; k++) {
                    target[k] *= inv;
                }
                samples.add(new Sample(UnmixInput.stack(denoised, exact, scale), target, s.height(), s.width()));
            }
        }
        return samples;
    }

    /** A random crop of {@code s}, randomly flipped and transposed, into batch slot {@code b}. */
    private static void crop(Sample s, int inPlanes, int outPlanes, int c, SplittableRandom rng, float[] in, int b,
                             float[] target) {
        int y0 = rng.nextInt(s.height() - c + 1);
        int x0 = rng.nextInt(s.width() - c + 1);
        boolean flipY = rng.nextBoolean();
        boolean flipX = rng.nextBoolean();
        boolean transpose = rng.nextBoolean();
        copyCrop(s.input(), inPlanes, s.height(), s.width(), y0, x0, c, flipY, flipX, transpose, in, b * inPlanes * c * c);
        copyCrop(s.target(), outPlanes, s.height(), s.width(), y0, x0, c, flipY, flipX, transpose, target,
                b * outPlanes * c * c);
    }

    private static void copyCrop(float[] src, int planes, int h, int w, int y0, int x0, int c, boolean flipY,
                                 boolean flipX, boolean transpose, float[] dst, int offset) {
        for (int p = 0; p < planes; p++) {
            for (int y = 0; y < c; y++) {
                for (int x = 0; x < c; x++) {
                    int sy = flipY ? c - 1 - y : y;
                    int sx = flipX ? c - 1 - x : x;
                    if (transpose) {
                        int t = sy;
                        sy = sx;
                        sx = t;
                    }
                    dst[offset + (p * c + y) * c + x] = src[(p * h + y0 + sy) * w + x0 + sx];
                }
            }
        }
    }

    private static double mean(double[] v, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) {
            s += v[i];
        }
        return to > from ? s / (to - from) : Double.NaN;
    }
}
