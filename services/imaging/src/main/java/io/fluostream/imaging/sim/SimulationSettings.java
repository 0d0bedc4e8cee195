package io.fluostream.imaging.sim;

import java.util.Locale;

/**
 * Parameters of the rig's forward model: frame shape, spectra, camera, optics and motion. Immutable
 * and validated on construction; start from {@link #defaults()} and change fields with
 * {@code withX(...)} or {@link #toBuilder()}.
 *
 * <p>Units: pixels (px) for lengths, frames for time, photo-electrons (e⁻) and ADU for intensities.
 *
 * @param height             frame height in px (rows), at least 16
 * @param width              frame width in px (columns), at least 16
 * @param channels           detection channels C, 1..32
 * @param fluorophores       fluorophores (labels) F, 1..C: with more labels than channels the
 *                           mixing could not be inverted
 * @param photonLevel        expected photo-electrons, summed over all channels, that a pixel of unit
 *                           abundance of one fluorophore yields (the columns of the mixing matrix sum
 *                           to 1, so this is independent of the label)
 * @param readNoiseElectrons Gaussian read noise of the camera, e⁻ rms
 * @param gainAduPerElectron camera gain, ADU per e⁻
 * @param offsetAdu          camera offset (bias) added to every raw pixel, ADU
 * @param psfSigmaPx         standard deviation of the Gaussian point-spread function, px (≥ 0.5: a
 *                           narrower PSF would let the sampled image alias)
 * @param maxDriftPx         bound on the global stage drift |d(t)| over the whole stream, px
 * @param maxFlowPxPerFrame  largest per-frame displacement of the tissue deformation, px/frame
 *                           (0 switches the deformation off)
 * @param flowPeriodFrames   period T of the deformation's temporal profile s(t) = sin(2πt/T),
 *                           frames (≥ 4); the excursion {@link #maxDeformationPx()} is about
 *                           maxFlowPxPerFrame·T/(2π) px and must stay within half the smaller side
 * @param backgroundAbundance uniform abundance floor added to every fluorophore plane (diffuse
 *                           autofluorescence), so each channel has a background of
 *                           photonLevel·backgroundAbundance·(row sum of the mixing matrix) e⁻
 * @param seed               seed of the scene, the motion and the noise; with the stream index it
 *                           fixes every frame
 */
public record SimulationSettings(
        int height,
        int width,
        int channels,
        int fluorophores,
        double photonLevel,
        double readNoiseElectrons,
        double gainAduPerElectron,
        double offsetAdu,
        double psfSigmaPx,
        double maxDriftPx,
        double maxFlowPxPerFrame,
        double flowPeriodFrames,
        double backgroundAbundance,
        long seed) {

    /** Largest channel count: the spectral bands get narrower than the emission lines beyond it. */
    public static final int MAX_CHANNELS = 32;
    /** Smallest frame side: the scene's structures are 10–50 px. */
    public static final int MIN_SIDE = 16;
    /** Largest frame side (a 16-bit sCMOS sensor is 2048–4096 px wide). */
    public static final int MAX_SIDE = 8192;

    public SimulationSettings {
        if (height < MIN_SIDE || height > MAX_SIDE || width < MIN_SIDE || width > MAX_SIDE) {
            throw new IllegalArgumentException("frame size must be " + MIN_SIDE + ".." + MAX_SIDE
                    + " px on each side, got height " + height + " x width " + width);
        }
        if (channels < 1 || channels > MAX_CHANNELS) {
            throw new IllegalArgumentException("channels must be 1.." + MAX_CHANNELS + ", got " + channels);
        }
        if (fluorophores < 1 || fluorophores > channels) {
            throw new IllegalArgumentException("fluorophores must be 1..channels (" + channels
                    + "): more labels than channels cannot be unmixed, got " + fluorophores);
        }
        requirePositive("photonLevel", photonLevel);
        requireNonNegative("readNoiseElectrons", readNoiseElectrons);
        requirePositive("gainAduPerElectron", gainAduPerElectron);
        if (!(offsetAdu >= 0 && offsetAdu <= 65535)) {
            throw new IllegalArgumentException("offsetAdu must be within the 16-bit range 0..65535, got " + offsetAdu);
        }
        if (!(psfSigmaPx >= 0.5 && psfSigmaPx <= 20)) {
            throw new IllegalArgumentException("psfSigmaPx must be 0.5..20 px (narrower aliases), got " + psfSigmaPx);
        }
        requireNonNegative("maxDriftPx", maxDriftPx);
        requireNonNegative("maxFlowPxPerFrame", maxFlowPxPerFrame);
        if (!(flowPeriodFrames >= 4) || Double.isInfinite(flowPeriodFrames)) {
            throw new IllegalArgumentException("flowPeriodFrames must be a finite number of frames >= 4, got "
                    + flowPeriodFrames);
        }
        requireNonNegative("backgroundAbundance", backgroundAbundance);
        double excursion = maxDeformationPx(maxFlowPxPerFrame, flowPeriodFrames);
        if (excursion > 0.5 * Math.min(height, width)) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "the deformation's excursion maxFlowPxPerFrame / (2 sin(pi / flowPeriodFrames)) = %.1f px exceeds"
                            + " half the frame's smaller side (%d px), so structures would leave the field; lower"
                            + " maxFlowPxPerFrame (%s) or flowPeriodFrames (%s)",
                    excursion, Math.min(height, width) / 2, maxFlowPxPerFrame, flowPeriodFrames));
        }
    }

    /**
     * max|D|, px: the largest excursion of a material point from its rest position. The steepest step
     * of s(t) = sin(2πt/T) between frames is 2 sin(π/T), so max|D| = maxFlow / (2 sin(π/T)).
     */
    public double maxDeformationPx() {
        return maxDeformationPx(maxFlowPxPerFrame, flowPeriodFrames);
    }

    private static double maxDeformationPx(double maxFlowPxPerFrame, double flowPeriodFrames) {
        return maxFlowPxPerFrame / (2 * Math.sin(Math.PI / flowPeriodFrames));
    }

    private static void requirePositive(String name, double value) {
        if (!(value > 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(name + " must be a finite number > 0, got " + value);
        }
    }

    private static void requireNonNegative(String name, double value) {
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(name + " must be a finite number >= 0, got " + value);
        }
    }

    /**
     * 256×256, 4 channels, 3 fluorophores, 20 e⁻ per unit abundance, read noise 1.5 e⁻, gain 2 ADU/e⁻,
     * offset 100 ADU, PSF σ 1.2 px, drift ≤ 20 px, flow ≤ 1 px/frame with an 8-frame period,
     * background abundance 0.05, seed 1.
     *
     * <p>Why this motion: tissue that moves up to 1 px a frame but stays within about 1.3 px of rest.
     * Flow is then well above the per-pixel noise floor at low light, while the deformation stays
     * small enough that "the drift" is well defined against it (a deformation of many pixels has
     * no single rigid shift that a registration could be scored against).
     */
    public static SimulationSettings defaults() {
        return new SimulationSettings(256, 256, 4, 3, 20, 1.5, 2.0, 100, 1.2, 20, 1.0, 8, 0.05, 1);
    }

    public static Builder builder() {
        return defaults().toBuilder();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * ADU (offset-free, summed over channels) that one unit of abundance yields: gain × photonLevel.
     * The abundance truth of {@link SimulatedFrame#abundances()} is the abundance times this.
     */
    public double aduPerUnitAbundance() {
        return gainAduPerElectron * photonLevel;
    }

    public SimulationSettings withSize(int height, int width) {
        return toBuilder().height(height).width(width).build();
    }

    /** Changes both at once, so that {@code fluorophores <= channels} is only checked on the result. */
    public SimulationSettings withChannelsAndFluorophores(int channels, int fluorophores) {
        return toBuilder().channels(channels).fluorophores(fluorophores).build();
    }

    public SimulationSettings withPhotonLevel(double photonLevel) {
        return toBuilder().photonLevel(photonLevel).build();
    }

    public SimulationSettings withReadNoiseElectrons(double readNoiseElectrons) {
        return toBuilder().readNoiseElectrons(readNoiseElectrons).build();
    }

    public SimulationSettings withGainAduPerElectron(double gainAduPerElectron) {
        return toBuilder().gainAduPerElectron(gainAduPerElectron).build();
    }

    public SimulationSettings withOffsetAdu(double offsetAdu) {
        return toBuilder().offsetAdu(offsetAdu).build();
    }

    public SimulationSettings withPsfSigmaPx(double psfSigmaPx) {
        return toBuilder().psfSigmaPx(psfSigmaPx).build();
    }

    public SimulationSettings withMaxDriftPx(double maxDriftPx) {
        return toBuilder().maxDriftPx(maxDriftPx).build();
    }

    public SimulationSettings withMaxFlowPxPerFrame(double maxFlowPxPerFrame) {
        return toBuilder().maxFlowPxPerFrame(maxFlowPxPerFrame).build();
    }

    public SimulationSettings withFlowPeriodFrames(double flowPeriodFrames) {
        return toBuilder().flowPeriodFrames(flowPeriodFrames).build();
    }

    public SimulationSettings withBackgroundAbundance(double backgroundAbundance) {
        return toBuilder().backgroundAbundance(backgroundAbundance).build();
    }

    public SimulationSettings withSeed(long seed) {
        return toBuilder().seed(seed).build();
    }

    /** Mutable builder; {@link #build()} validates the whole set at once. */
    public static final class Builder {
        private int height;
        private int width;
        private int channels;
        private int fluorophores;
        private double photonLevel;
        private double readNoiseElectrons;
        private double gainAduPerElectron;
        private double offsetAdu;
        private double psfSigmaPx;
        private double maxDriftPx;
        private double maxFlowPxPerFrame;
        private double flowPeriodFrames;
        private double backgroundAbundance;
        private long seed;

        private Builder(SimulationSettings s) {
            height = s.height;
            width = s.width;
            channels = s.channels;
            fluorophores = s.fluorophores;
            photonLevel = s.photonLevel;
            readNoiseElectrons = s.readNoiseElectrons;
            gainAduPerElectron = s.gainAduPerElectron;
            offsetAdu = s.offsetAdu;
            psfSigmaPx = s.psfSigmaPx;
            maxDriftPx = s.maxDriftPx;
            maxFlowPxPerFrame = s.maxFlowPxPerFrame;
            flowPeriodFrames = s.flowPeriodFrames;
            backgroundAbundance = s.backgroundAbundance;
            seed = s.seed;
        }

        public Builder height(int height) {
            this.height = height;
            return this;
        }

        public Builder width(int width) {
            this.width = width;
            return this;
        }

        public Builder channels(int channels) {
            this.channels = channels;
            return this;
        }

        public Builder fluorophores(int fluorophores) {
            this.fluorophores = fluorophores;
            return this;
        }

        public Builder photonLevel(double photonLevel) {
            this.photonLevel = photonLevel;
            return this;
        }

        public Builder readNoiseElectrons(double readNoiseElectrons) {
            this.readNoiseElectrons = readNoiseElectrons;
            return this;
        }

        public Builder gainAduPerElectron(double gainAduPerElectron) {
            this.gainAduPerElectron = gainAduPerElectron;
            return this;
        }

        public Builder offsetAdu(double offsetAdu) {
            this.offsetAdu = offsetAdu;
            return this;
        }

        public Builder psfSigmaPx(double psfSigmaPx) {
            this.psfSigmaPx = psfSigmaPx;
            return this;
        }

        public Builder maxDriftPx(double maxDriftPx) {
            this.maxDriftPx = maxDriftPx;
            return this;
        }

        public Builder maxFlowPxPerFrame(double maxFlowPxPerFrame) {
            this.maxFlowPxPerFrame = maxFlowPxPerFrame;
            return this;
        }

        public Builder flowPeriodFrames(double flowPeriodFrames) {
            this.flowPeriodFrames = flowPeriodFrames;
            return this;
        }

        public Builder backgroundAbundance(double backgroundAbundance) {
            this.backgroundAbundance = backgroundAbundance;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public SimulationSettings build() {
            return new SimulationSettings(height, width, channels, fluorophores, photonLevel, readNoiseElectrons,
                    gainAduPerElectron, offsetAdu, psfSigmaPx, maxDriftPx, maxFlowPxPerFrame, flowPeriodFrames,
                    backgroundAbundance, seed);
        }
    }
}
