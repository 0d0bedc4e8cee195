package io.fluostream.rig;

import io.fluostream.frames.FrameImages;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulatedFrame;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.proto.Acquisition;
import io.fluostream.proto.Channel;
import io.fluostream.proto.Encoding;
import io.fluostream.proto.Frame;
import io.fluostream.proto.PixelType;

/**
 * Turns a simulated camera frame into the frame a real rig would send: raw uint16 counts and the
 * acquisition metadata a camera knows (offset, gain, channel wavelengths), and nothing of the
 * ground truth.
 */
public final class SimulatedFrames {

    /** Pixel size of the simulated camera behind a 60×/1.4 objective. */
    public static final double PIXEL_SIZE_UM = 0.108;

    private SimulatedFrames() {
    }

    public static Frame toFrame(ForwardModel model, SimulatedFrame sim, String streamId, long acquiredAtUs, double fps) {
        SimulationSettings s = model.settings();
        Acquisition.Builder acq = Acquisition.newBuilder()
                .setPixelSizeUm(PIXEL_SIZE_UM)
                .setExposureMs(fps > 0 ? Math.min(100, 800 / fps) : 10)
                .setCameraOffsetAdu(s.offsetAdu())
                .setCameraGainAduPerElectron(s.gainAduPerElectron())
                .setInstrument("fluostream-rig simulator")
                .setFrameIntervalS(fps > 0 ? 1 / fps : 0)
                .putExtra("simulation.seed", Long.toString(s.seed()))
                .putExtra("simulation.photon_level", Double.toString(s.photonLevel()));
        double[] nm = model.channelWavelengthsNm();
        for (int c = 0; c < s.channels(); c++) {
            acq.addChannels(Channel.newBuilder().setName("ch" + c).setEmissionNm(nm[c]));
        }
        Frame.Builder f = Frame.newBuilder()
                .setStreamId(streamId)
                .setSequence(sim.t())
                .setAcquiredAtUs(acquiredAtUs)
                .setAcquisition(acq);
        for (int c = 0; c < s.channels(); c++) {
            f.addChannelNames("ch" + c);
        }
        return FrameImages.withImage(f, sim.raw(), PixelType.UINT16, Encoding.SHUFFLE_ZSTD).build();
    }
}
