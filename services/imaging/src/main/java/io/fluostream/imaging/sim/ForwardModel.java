package io.fluostream.imaging.sim;

import io.fluostream.imaging.Image;
import java.util.SplittableRandom;

/**
 * The rig's forward model: a deterministic fluorescence time-lapse of one stream, with its ground
 * truth. {@link #frame(int)} is a pure function of (settings, stream index, t): frames can be made
 * in any order, any number of times, on any thread, and are identical every time.
 *
 * <p>Frame t is formed in these steps:
 * <ol>
 *   <li>Scene: F abundance planes a_f of cells, nuclei, filaments and puncta ({@code Scene}),
 *       abundances 0.3–1, blurred by the Gaussian PSF (σ = psfSigmaPx), rendered analytically.</li>
 *   <li>Deformation: material point p0 sits at p0 + D(p0)·s(t), s(t) = sin(2πt/T)
 *       ({@code DeformationField}; per-frame steps ≤ maxFlowPxPerFrame).</li>
 *   <li>Drift: the deformed scene appears shifted by d(t), d(0) = 0, |d| ≤ maxDriftPx
 *       ({@code DriftTrajectory}).</li>
 *   <li>Background: a uniform abundance floor b = backgroundAbundance on every fluorophore plane.
 *       The abundance truth is A_f = gain·photonLevel·(a_f + b), in ADU.</li>
 *   <li>Mixing: clean channels = M·A, M = {@link SpectralMixing#defaultSpectra(int, int)}
 *       (columns sum to 1, so photonLevel is the expected photo-electrons, summed over channels,
 *       of a pixel with unit abundance of one fluorophore).</li>
 *   <li>Noise: expected photo-electrons clean/gain, Poisson sampled, times gain, plus Gaussian read
 *       noise and the offset, rounded and clipped to 16 bits ({@link CameraNoise}).</li>
 * </ol>
 *
 * <p>Coordinates: pixel (row y, column x) sits at (x, y); "drift-free" coordinates are those of a
 * frame stabilised against frame 0, i.e. the scene with deformation D·s(t) and no drift. Random
 * numbers come from SplittableRandoms seeded by a hash of (seed, stream, purpose[, t]): scene, motion
 * and drift once per stream in the constructor, noise once per frame.
 *
 * <p>Immutable and thread-safe after construction; each call allocates its own buffers.
 */
public final class ForwardModel {

    private static final long PURPOSE_SCENE = 1;
    private static final long PURPOSE_MOTION = 2;
    private static final long PURPOSE_DRIFT = 3;
    private static final long PURPOSE_NOISE = 4;
    /** Cells reach up to ~38 px beyond their centre: the scene's margin adds this to the motion range. */
    private static final double STRUCTURE_REACH_PX = 40;

    private final SimulationSettings settings;
    private final int streamIndex;
    private final double[][] mixing;
    private final CameraNoise camera;
    private final DriftTrajectory drift;
    private final DeformationField deformation;
    private final Scene scene;

    /**
     * Builds the stream's scene, deformation and drift (tens of ms for 256×256).
     *
     * @throws IllegalArgumentException in the unlikely case that the random deformation's strain
     *                                  would fold the tissue (the message says what to change)
     */
    public ForwardModel(SimulationSettings settings, int streamIndex) {
        this.settings = settings;
        this.streamIndex = streamIndex;
        this.mixing = SpectralMixing.defaultSpectra(settings.channels(), settings.fluorophores());
        this.camera = CameraNoise.of(settings);
        this.drift = new DriftTrajectory(settings.maxDriftPx(), random(PURPOSE_DRIFT, 0));

        double margin = settings.maxDriftPx() + settings.maxDeformationPx() + STRUCTURE_REACH_PX;
        Scene atRest = Scene.generate(settings, margin, random(PURPOSE_SCENE, 0));
        int n = settings.height() * settings.width();
        float[] rest = new float[settings.fluorophores() * n];
        atRest.render(0, 0, 0, null, null, rest);
        float[] restIntensity = new float[n];
        for (int i = 0; i < rest.length; i++) {
            restIntensity[i % n] += rest[i];
        }
        this.deformation = new DeformationField(settings, random(PURPOSE_MOTION, 0), restIntensity);
        this.scene = atRest.moving(deformation);
    }

    public SimulationSettings settings() {
        return settings;
    }

    public int streamIndex() {
        return streamIndex;
    }

    /** The C×F mixing matrix {@code m[c][f]} (a copy). */
    public double[][] mixingMatrix() {
        double[][] copy = new double[mixing.length][];
        for (int c = 0; c < mixing.length; c++) {
            copy[c] = mixing[c].clone();
        }
        return copy;
    }

    /** Centre wavelength of each detection channel, nm, for frame metadata. */
    public double[] channelWavelengthsNm() {
        return SpectralMixing.channelWavelengthsNm(settings.channels(), settings.fluorophores());
    }

    /** d_x(t), px. */
    public double driftX(int t) {
        requireFrameIndex(t);
        return drift.x(t);
    }

    /** d_y(t), px. */
    public double driftY(int t) {
        requireFrameIndex(t);
        return drift.y(t);
    }

    /** Frame t (≥ 0) with its ground truth. */
    public SimulatedFrame frame(int t) {
        requireFrameIndex(t);
        int h = settings.height();
        int w = settings.width();
        double dx = drift.x(t);
        double dy = drift.y(t);
        Image abundances = renderAbundances(t, dx, dy);
        Image clean = SpectralMixing.mix(mixing, abundances);
        Image raw = new Image(settings.channels(), h, w);
        camera.expose(clean.data(), raw.data(), random(PURPOSE_NOISE, t));
        Image flow = new Image(2, h, w);
        if (t > 0 && !deformation.isStill()) {
            deformation.forwardFlow(deformation.profile(t - 1), deformation.profile(t), w, h, flow.data());
        }
        return new SimulatedFrame(t, raw, clean, abundances, dx, dy, flow);
    }

    /**
     * F×H×W abundance truth of frame t in drift-free coordinates (ADU scale, as
     * {@link SimulatedFrame#abundances()}): what a perfect stabiliser (against frame 0) outputs
     * from the unmixed stream.
     */
    public Image driftFreeAbundances(int t) {
        requireFrameIndex(t);
        return renderAbundances(t, 0, 0);
    }

    /** C×H×W clean channels of frame t in drift-free coordinates: M · {@link #driftFreeAbundances(int)}. */
    public Image driftFreeClean(int t) {
        return SpectralMixing.mix(mixing, driftFreeAbundances(t));
    }

    /** The abundance planes at frame t seen with drift (dx, dy), in ADU, background included. */
    private Image renderAbundances(int t, double dx, double dy) {
        int h = settings.height();
        int w = settings.width();
        double s = deformation.profile(t);
        double[] materialX = null;
        double[] materialY = null;
        if (s != 0) {
            materialX = new double[h * w];
            materialY = new double[h * w];
            deformation.materialPoints(s, dx, dy, w, h, materialX, materialY);
        }
        Image abundances = new Image(settings.fluorophores(), h, w);
        float[] a = abundances.data();
        scene.render(s, dx, dy, materialX, materialY, a);
        float scale = (float) settings.aduPerUnitAbundance();
        float background = (float) settings.backgroundAbundance();
        for (int i = 0; i < a.length; i++) {
            a[i] = scale * (a[i] + background);
        }
        return abundances;
    }

    private static void requireFrameIndex(int t) {
        if (t < 0) {
            throw new IllegalArgumentException("frame index must be >= 0, got " + t);
        }
    }

    /** A generator for one purpose (and frame), a pure function of (seed, stream, purpose, t). */
    private SplittableRandom random(long purpose, long t) {
        long h = mix64(settings.seed() ^ 0x9E3779B97F4A7C15L);
        h = mix64(h + streamIndex * 0xC2B2AE3D27D4EB4FL);
        h = mix64(h + purpose * 0x165667B19E3779F9L);
        h = mix64(h + t * 0x9E3779B97F4A7C15L);
        return new SplittableRandom(h);
    }

    /** SplitMix64's finaliser: a bijective 64-bit mix, so nearby inputs give unrelated seeds. */
    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
