package io.fluostream.learning.denoise;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How the stage trains on its stream (stored with each model as hyperparameters).
 *
 * @param mode              "n2v" (blind-spot, self-supervised on the stream) or "care" (supervised on
 *                          pairs of low- and high-SNR frames)
 * @param contextFrames     earlier frames fed as extra input (0 or 2: t−1, t−2)
 * @param baseFeatures      U-Net width
 * @param depth             U-Net depth
 * @param training          patch, batch, learning rate, masking
 * @param threads           libtorch intra-op threads of the training thread (bounded, so training
 *                          cannot starve inference)
 * @param maxReservoirBytes bound on the crops kept for training (oldest go first)
 * @param cropSize          side of the crops taken from frames, px
 * @param sampleEvery       after the reservoir has {@code minCrops}, take a crop from every n-th frame
 * @param minCrops          crops collected before training starts
 * @param heldOutCrops      crops kept out of training to validate on (every 5th crop until full; training
 *                          starts once it is full)
 * @param firstVersionSteps steps before the first version is published
 * @param stepsPerVersion   steps between later versions
 * @param maxSteps          training stops after this many steps (0: runs until stopped)
 * @param autoActivate      activate each published version whose validation loss beats the best
 *                          so far (else versions wait for an explicit activate)
 * @param classicalGuide    feed the classical estimate and learn a correction to it ({@link DenoiserDesign})
 */
public record TrainingOptions(String mode, int contextFrames, int baseFeatures, int depth, TrainingSettings training,
                              int threads, long maxReservoirBytes, int cropSize, int sampleEvery, int minCrops,
                              int heldOutCrops, int firstVersionSteps, int stepsPerVersion, long maxSteps,
                              boolean autoActivate, boolean classicalGuide) {

    public TrainingOptions {
        if (!"n2v".equals(mode) && !"care".equals(mode)) {
            throw new IllegalArgumentException("training mode must be 'n2v' or 'care', got '" + mode + "'");
        }
        new DenoiserDesign(1, contextFrames, baseFeatures, depth); // validates the network's numbers
        if (threads < 1 || threads > 64) {
            throw new IllegalArgumentException("training threads must be 1..64, got " + threads);
        }
        if (maxReservoirBytes < 1 << 20) {
            throw new IllegalArgumentException("the training reservoir needs at least 1 MiB, got " + maxReservoirBytes + " bytes");
        }
        if (cropSize < 16 || sampleEvery < 1 || minCrops < 1 || heldOutCrops < 1 || firstVersionSteps < 1
                || stepsPerVersion < 1 || maxSteps < 0) {
            throw new IllegalArgumentException("crop size >= 16, sample-every, min crops, held-out crops and steps per"
                    + " version >= 1, max steps >= 0 required");
        }
    }

    /** Defaults: self-supervised, classical guide, no temporal context, one training thread, 64 MiB of crops (on the heap: stage heaps are 768 MiB). */
    public static TrainingOptions defaults() {
        return new TrainingOptions("n2v", 0, 16, 2, TrainingSettings.defaults(), 1, 64L << 20, 128, 2, 12, 4,
                300, 300, 0, true, true);
    }

    public TrainingOptions withContextFrames(int frames) {
        return new TrainingOptions(mode, frames, baseFeatures, depth, training, threads, maxReservoirBytes, cropSize,
                sampleEvery, minCrops, heldOutCrops, firstVersionSteps, stepsPerVersion, maxSteps, autoActivate, classicalGuide);
    }

    public TrainingOptions withMode(String m) {
        return new TrainingOptions(m, contextFrames, baseFeatures, depth, training, threads, maxReservoirBytes, cropSize,
                sampleEvery, minCrops, heldOutCrops, firstVersionSteps, stepsPerVersion, maxSteps, autoActivate, classicalGuide);
    }

    public TrainingOptions withNetwork(int features, int levels) {
        return new TrainingOptions(mode, contextFrames, features, levels, training, threads, maxReservoirBytes, cropSize,
                sampleEvery, minCrops, heldOutCrops, firstVersionSteps, stepsPerVersion, maxSteps, autoActivate, classicalGuide);
    }

    public TrainingOptions withTraining(TrainingSettings t) {
        return new TrainingOptions(mode, contextFrames, baseFeatures, depth, t, threads, maxReservoirBytes, cropSize,
                sampleEvery, minCrops, heldOutCrops, firstVersionSteps, stepsPerVersion, maxSteps, autoActivate, classicalGuide);
    }

    public TrainingOptions withSchedule(int minCrops, int heldOutCrops, int firstVersionSteps, int stepsPerVersion, long maxSteps) {
        return new TrainingOptions(mode, contextFrames, baseFeatures, depth, training, threads, maxReservoirBytes, cropSize,
                sampleEvery, minCrops, heldOutCrops, firstVersionSteps, stepsPerVersion, maxSteps, autoActivate, classicalGuide);
    }

    public TrainingOptions withSampling(int crop, int every) {
        return new TrainingOptions(mode, contextFrames, baseFeatures, depth, training, threads, maxReservoirBytes, crop,
                every, minCrops, heldOutCrops, firstVersionSteps, stepsPerVersion, maxSteps, autoActivate, classicalGuide);
    }

    public TrainingOptions withAutoActivate(boolean on) {
        return new TrainingOptions(mode, contextFrames, baseFeatures, depth, training, threads, maxReservoirBytes, cropSize,
                sampleEvery, minCrops, heldOutCrops, firstVersionSteps, stepsPerVersion, maxSteps, on, classicalGuide);
    }

    public TrainingOptions withClassicalGuide(boolean on) {
        return new TrainingOptions(mode, contextFrames, baseFeatures, depth, training, threads, maxReservoirBytes, cropSize,
                sampleEvery, minCrops, heldOutCrops, firstVersionSteps, stepsPerVersion, maxSteps, autoActivate, on);
    }

    public TrainingOptions withThreads(int n) {
        return new TrainingOptions(mode, contextFrames, baseFeatures, depth, training, n, maxReservoirBytes, cropSize,
                sampleEvery, minCrops, heldOutCrops, firstVersionSteps, stepsPerVersion, maxSteps, autoActivate, classicalGuide);
    }

    /** The model's name on the model log. */
    public String modelName() {
        return "care".equals(mode) ? "care-unet" : contextFrames > 0 ? "n2v-unet-t" + contextFrames : "n2v-unet";
    }

    /** The numbers stored as the model's hyperparameters. */
    public Map<String, Double> hyperparameters() {
        Map<String, Double> h = new LinkedHashMap<>();
        h.put("patch_size", (double) training.patchSize());
        h.put("batch_size", (double) training.batchSize());
        h.put("learning_rate", training.learningRate());
        h.put("mask_fraction", training.maskFraction());
        h.put("mask_radius", (double) training.maskRadius());
        h.put("crop_size", (double) cropSize);
        h.put("training_threads", (double) threads);
        h.put("classical_guide", classicalGuide ? 1.0 : 0.0);
        return h;
    }
}
