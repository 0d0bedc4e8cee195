package io.fluostream.learning.unmix;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import io.fluostream.imaging.denoise.ClassicalDenoiser;
import io.fluostream.imaging.sim.CameraNoise;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulatedFrame;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.imaging.sim.SpectralMixing;
import io.fluostream.imaging.unmix.NnlsUnmixer;
import io.fluostream.imaging.unmix.ReferenceSpectra;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Retrains the shipped learned-unmixing model, or one for other spectra, and compares it with
 * NNLS on held-out frames. Run from the repository root:
 * <pre>
 * mvn -q -B -o -pl services/learning -am test-compile
 * java -Dai.djl.offline=true -cp "services/learning/target/classes:services/learning/target/test-classes:$(cat cp.txt)" \
 *     io.fluostream.learning.unmix.RetrainUnmixModel [spectra|default] [output directory] [full|fine-tune]
 * </pre>
 * ({@code cp.txt} from {@code mvn -pl services/learning dependency:build-classpath -Dmdep.outputFile=cp.txt}).
 * The default output directory is this module's resources, where the shipped model lives.
 * {@code full} (the default) trains in two stages, {@link UnmixTrainer.Settings#shipped()} from
 * random weights and then {@link UnmixTrainer.Settings#lowLightFineTune()}; {@code fine-tune} runs
 * only the second stage, on the model already in the output directory.
 */
public final class RetrainUnmixModel {

    public static void main(String[] args) throws Exception {
        ReferenceSpectra spectra = args.length > 0 && !args[0].equals("default") ? ReferenceSpectra.parse(args[0])
                : ReferenceSpectra.of(SpectralMixing.defaultSpectra(4, 3));
        Path out = Path.of(args.length > 1 ? args[1] : "services/learning/src/main/resources/io/fluostream/learning/unmix");
        boolean fineTuneOnly = args.length > 2 && args[2].equals("fine-tune");
        LearnedUnmixer first;
        if (fineTuneOnly) {
            first = LearnedUnmixer.load(out, "unmix-cnn");
            System.out.println("fine-tuning " + first.card().modelId() + " from " + out.toAbsolutePath());
        } else {
            System.out.println("training for spectra " + spectra.fingerprint() + " with " + UnmixTrainer.Settings.shipped());
            first = UnmixTrainer.train(spectra, UnmixTrainer.Settings.shipped(), System.out::println);
        }
        UnmixTrainer.Settings second = UnmixTrainer.Settings.lowLightFineTune();
        System.out.println("fine-tuning with " + second);
        try (first; LearnedUnmixer model = UnmixTrainer.fineTune(first, second, System.out::println)) {
            UnmixTrainer.save(model, out, "unmix-cnn");
            System.out.println("saved " + model.card().modelId() + " to " + out.toAbsolutePath());
            for (double photons : new double[] {2, 5, 20, 100}) {
                double[] r = compare(model, spectra, photons, 99);
                System.out.printf(Locale.ROOT, "photons %5.1f  rmse_rel nnls %.4f  learned %.4f  ratio %.3f%n",
                        photons, r[0], r[1], r[1] / r[0]);
            }
        }
    }

    /** {NNLS, learned} RMSE relative to the mean true abundance on a held-out 256 × 256 frame. */
    static double[] compare(LearnedUnmixer model, ReferenceSpectra spectra, double photons, long seed) {
        SimulationSettings s = SimulationSettings.defaults().withPhotonLevel(photons).withSeed(seed);
        SimulatedFrame frame = new ForwardModel(s, 5).frame(3);
        Image raw = CameraNoise.of(s).expose(SpectralMixing.mix(spectra.toRows(), frame.abundances()),
                new SplittableRandom(seed));
        Image denoised = new ClassicalDenoiser().denoise(raw, s.offsetAdu()).denoised();
        Image truth = frame.abundances();
        double mean = Images.mean(truth);
        try (NnlsUnmixer nnls = new NnlsUnmixer(spectra)) {
            return new double[] {Images.rmse(truth, nnls.unmix(denoised).abundances()) / mean,
                Images.rmse(truth, model.unmix(denoised)) / mean};
        }
    }
}
