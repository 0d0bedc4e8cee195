package io.fluostream.stage;

/** Who processed a frame: stage name, software version and instance (pod or process). */
public record StageIdentity(String stage, String version, String instance) {
}
