package io.fluostream.learning.device;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulatedFrame;
import io.fluostream.imaging.sim.SimulationSettings;

/** Frames from the rig's forward model, as each stage receives them, for the equivalence tests. */
final class Simulated {

    private Simulated() {
    }

    static ForwardModel stream(int size, int channels, int fluorophores, double photons, long seed) {
        return new ForwardModel(SimulationSettings.defaults().withSize(size, size)
                .withChannelsAndFluorophores(channels, fluorophores).withPhotonLevel(photons).withSeed(seed), 0);
    }

    /** Raw frame t minus the camera offset: offset-free noisy ADU, what unmix sees after denoising. */
    static Image offsetFree(ForwardModel model, int t) {
        SimulatedFrame f = model.frame(t);
        Image out = f.raw().copy();
        float offset = (float) model.settings().offsetAdu();
        float[] d = out.data();
        for (int i = 0; i < d.length; i++) {
            d[i] -= offset;
        }
        return out;
    }

    /** Largest |a − b| over all samples. */
    static double maxAbsDifference(Image a, Image b) {
        float[] x = a.data();
        float[] y = b.data();
        double max = 0;
        for (int i = 0; i < x.length; i++) {
            max = Math.max(max, Math.abs((double) x[i] - y[i]));
        }
        return max;
    }

    /** Largest |sample|. */
    static double maxAbs(Image a) {
        double max = 0;
        for (float v : a.data()) {
            max = Math.max(max, Math.abs(v));
        }
        return max;
    }

    /** RMS of a − b relative to the RMS of a. */
    static double relativeRms(Image a, Image b) {
        float[] x = a.data();
        float[] y = b.data();
        double num = 0;
        double den = 0;
        for (int i = 0; i < x.length; i++) {
            double d = (double) x[i] - y[i];
            num += d * d;
            den += (double) x[i] * x[i];
        }
        return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
    }
}
