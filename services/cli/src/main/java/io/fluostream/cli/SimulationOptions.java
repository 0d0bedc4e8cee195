package io.fluostream.cli;

import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.rig.RigOptions;
import picocli.CommandLine.Option;

/** The rig simulator's options, shared by {@code demo} and {@code rig}. */
public final class SimulationOptions {

    @Option(names = "--streams", description = "Streams (stage positions) to simulate (default ${DEFAULT-VALUE}).")
    int streams = 2;

    @Option(names = "--frames", description = "Frames per stream (default ${DEFAULT-VALUE}).")
    int frames = 200;

    @Option(names = "--size", description = "Frame height and width, px (default ${DEFAULT-VALUE}).")
    int size = 256;

    @Option(names = "--channels", description = "Detection channels C (default ${DEFAULT-VALUE}).")
    int channels = 4;

    @Option(names = "--fluorophores", description = "Fluorophores F ≤ C (default ${DEFAULT-VALUE}).")
    int fluorophores = 3;

    @Option(names = "--photons", description = "Photon level: expected photo-electrons at a pixel of unit abundance (default ${DEFAULT-VALUE}: low light).")
    double photons = 20;

    @Option(names = "--fps", description = "Frames per second per stream; 0 = as fast as possible (default ${DEFAULT-VALUE}).")
    double fps = 0;

    @Option(names = "--seed", description = "Seed of scenes, motion and noise (default ${DEFAULT-VALUE}).")
    long seed = 42;

    RigOptions toRigOptions() {
        SimulationSettings s = SimulationSettings.defaults().toBuilder()
                .height(size).width(size)
                .channels(channels).fluorophores(fluorophores)
                .photonLevel(photons)
                .seed(seed)
                .build();
        return new RigOptions(streams, frames, fps, s);
    }
}
