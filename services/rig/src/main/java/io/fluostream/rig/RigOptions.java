package io.fluostream.rig;

import io.fluostream.imaging.sim.SimulationSettings;

/**
 * What the simulated rig publishes: how many streams and frames, and the forward model's settings
 * (size, channels, fluorophores, photon level, seed, ...).
 *
 * @param streams number of independent streams (positions), each its own scene, drift and noise
 * @param frames  frames per stream
 * @param fps     frames per second per stream; 0 publishes as fast as possible
 */
public record RigOptions(int streams, int frames, double fps, SimulationSettings simulation) {

    public RigOptions {
        if (streams < 1 || streams > 1000) {
            throw new IllegalArgumentException("streams must be 1..1000, got " + streams);
        }
        if (frames < 1) {
            throw new IllegalArgumentException("frames must be at least 1, got " + frames);
        }
        if (!(fps >= 0) || Double.isInfinite(fps)) {
            throw new IllegalArgumentException("fps must be 0 (as fast as possible) or positive, got " + fps);
        }
    }

    /** The stream id of stream {@code index}: also the Kafka key. */
    public static String streamId(int index) {
        return "sim/pos" + index;
    }
}
