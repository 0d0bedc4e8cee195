package io.fluostream.learning.flow;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import java.util.List;
import java.util.function.Consumer;

/**
 * Trains the learned flow estimator's network on simulated examples: Adam with a cosine-decayed
 * learning rate on the masked endpoint error of the residual, random crops and mirrors
 * ({@link FlowBatches}). Small and CPU-sized: a few hundred steps of a few crops.
 */
final class FlowRefinerTraining {

    /**
     * @param width        channels at the network's finest scale
     * @param crop         side of the square training crops, pooled px (multiple of 8)
     * @param batch        crops per step
     * @param steps        optimiser steps
     * @param learningRate initial Adam learning rate (decays to 1/20 of it)
     * @param seed         fixes the crops and the initial weights' draw order
     * @param augment      mirror and transpose crops at random (off only for tests)
     */
    record Settings(int width, int crop, int batch, int steps, float learningRate, long seed, boolean augment) {

        Settings {
            if (crop < FlowRefinerNet.MULTIPLE || crop % FlowRefinerNet.MULTIPLE != 0) {
                throw new IllegalArgumentException("crop must be a positive multiple of " + FlowRefinerNet.MULTIPLE
                        + ", got " + crop);
            }
            if (width < 1 || batch < 1 || steps < 1 || !(learningRate > 0)) {
                throw new IllegalArgumentException("width, batch, steps and learning rate must be positive");
            }
        }
    }

    /** The trained network (serialised with its header) and the loss of every step. */
    record Result(byte[] model, double[] losses) {

        /** Mean loss over steps {@code [from, to)}. */
        double meanLoss(int from, int to) {
            double s = 0;
            for (int i = from; i < to; i++) {
                s += losses[i];
            }
            return s / (to - from);
        }
    }

    private FlowRefinerTraining() {
    }

    static Result train(List<FlowTrainingSet.Example> examples, Settings settings, String version, String description,
                        Consumer<String> progress) {
        FlowBatches batches = new FlowBatches(examples, settings.crop(), settings.seed(), settings.augment());
        // The initial weights come from the engine's generator: seeded, a run can be repeated.
        Engine.getInstance().setRandomSeed((int) settings.seed());
        Block block = FlowRefinerNet.build(settings.width());
        double[] losses = new double[settings.steps()];
        try (Model model = Model.newInstance("flow-refiner")) {
            model.setBlock(block);
            Tracker rate = Tracker.cosine().setBaseValue(settings.learningRate())
                    .optFinalValue(settings.learningRate() / 20).setMaxUpdates(settings.steps()).build();
            DefaultTrainingConfig config = new DefaultTrainingConfig(new MaskedEndpointError())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(rate).build());
            try (Trainer trainer = model.newTrainer(config)) {
                FlowRefinerNet.zeroOutput(block);
                trainer.initialize(new Shape(settings.batch(), RefinerInputs.CHANNELS, settings.crop(), settings.crop()));
                for (int step = 0; step < settings.steps(); step++) {
                    try (NDManager scope = trainer.getManager().newSubManager()) {
                        NDList[] batch = batches.next(scope, settings.batch());
                        try (GradientCollector gc = trainer.newGradientCollector()) {
                            NDList prediction = trainer.forward(batch[0], batch[1]);
                            NDArray loss = trainer.getLoss().evaluate(batch[1], prediction);
                            gc.backward(loss);
                            losses[step] = loss.getFloat();
                        }
                        trainer.step();
                    }
                    if (progress != null && ((step + 1) % 50 == 0 || step + 1 == settings.steps())) {
                        int from = Math.max(0, step - 49);
                        double mean = 0;
                        for (int i = from; i <= step; i++) {
                            mean += losses[i];
                        }
                        progress.accept(String.format(java.util.Locale.ROOT, "step %d/%d: loss %.4f px (mean of last %d)",
                                step + 1, settings.steps(), mean / (step + 1 - from), step + 1 - from));
                    }
                }
            }
            return new Result(FlowRefinerModel.write(block, new FlowRefinerModel.Header(settings.width(), version,
                    description)), losses);
        }
    }
}
