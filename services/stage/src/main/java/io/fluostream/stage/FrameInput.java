package io.fluostream.stage;

import io.fluostream.imaging.Image;
import io.fluostream.proto.Frame;

/**
 * One frame handed to a {@link StageKernel}: the decoded header, its pixels as floats, the memory
 * of its stream (for stateful stages) and the parameters in force.
 */
public record FrameInput(Frame frame, Image pixels, StreamMemory memory, ParameterValues parameters) {

    public String streamId() {
        return frame.getStreamId();
    }

    public long sequence() {
        return frame.getSequence();
    }
}
