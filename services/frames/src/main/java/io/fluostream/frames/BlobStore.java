package io.fluostream.frames;

import io.fluostream.proto.BlobRef;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.stream.Stream;

/**
 * The claim check for large frames: pixel payloads above a threshold live here, in a directory
 * every process of the pipeline shares (a local folder on one machine; a ReadWriteMany volume on
 * Kubernetes), and the Kafka record carries only a {@link BlobRef}.
 *
 * <p>Blobs are content-addressed (SHA-256 of the encoded bytes) and written to a temporary file
 * that is then atomically renamed, so a write retried after an aborted transaction lands on the
 * same name with the same bytes: exactly-once holds without coordinating with Kafka. A blob whose
 * record was aborted is an orphan that {@link #deleteOlderThan} removes with the rest.
 */
public final class BlobStore {

    private final Path root;

    public BlobStore(Path root) {
        this.root = root;
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the blob store directory " + root, e);
        }
    }

    public Path root() {
        return root;
    }

    /** Stores the bytes (if not there yet) and returns their reference. */
    public BlobRef put(byte[] bytes) {
        String sha = sha256(bytes);
        Path target = path(sha);
        try {
            if (!Files.exists(target) || Files.size(target) != bytes.length) {
                Files.createDirectories(target.getParent());
                Path tmp = Files.createTempFile(target.getParent(), sha.substring(0, 8), ".tmp");
                Files.write(tmp, bytes);
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write blob " + sha + " to " + root, e);
        }
        return BlobRef.newBuilder().setUri("blob:" + sha).setSha256(sha).setEncodedBytes(bytes.length).build();
    }

    /** The bytes behind a reference, checked against its hash. */
    public byte[] get(BlobRef ref) throws FrameRejected {
        String sha = ref.getSha256();
        if (!sha.matches("[0-9a-f]{64}")) {
            throw new FrameRejected(FrameRejected.Reason.UNDECODABLE, "blob reference has no valid sha256: '" + sha + "'");
        }
        Path p = path(sha);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(p);
        } catch (IOException e) {
            throw new FrameRejected(FrameRejected.Reason.UNDECODABLE, "blob " + sha + " is not in the blob store " + root
                    + " (deleted by retention, or this process sees another store): " + e.getMessage(), e);
        }
        if (!sha256(bytes).equals(sha)) {
            throw new FrameRejected(FrameRejected.Reason.UNDECODABLE, "blob " + sha + " in " + root + " is corrupt");
        }
        return bytes;
    }

    /** Deletes blobs last written before {@code age} ago; returns how many. */
    public int deleteOlderThan(Duration age) {
        Instant cutoff = Instant.now().minus(age);
        int deleted = 0;
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                if (Files.getLastModifiedTime(p).toInstant().isBefore(cutoff)) {
                    Files.deleteIfExists(p);
                    deleted++;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot clean the blob store " + root, e);
        }
        return deleted;
    }

    private Path path(String sha) {
        return root.resolve(sha.substring(0, 2)).resolve(sha);
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
