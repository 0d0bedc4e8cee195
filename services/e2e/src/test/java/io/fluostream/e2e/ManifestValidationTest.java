package io.fluostream.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fluostream.cli.Home;
import io.fluostream.frames.Topic;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Offline schema check of everything under {@code k8s/}: each core object (Deployment, Service,
 * ConfigMap, Secret, Namespace) is read into the Kubernetes API's typed model (fabric8) and may
 * have no field that model does not know; the custom resources (Strimzi, KEDA, Prometheus
 * Operator) have the fields their operators require and agree with each other; every kustomization
 * resolves (its resources, components and patches exist, and each patch's target matches).
 */
class ManifestValidationTest {

    private static final Path K8S = Home.locate().root().resolve("k8s");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** Core kinds read into their typed model. */
    private static final Map<String, Class<? extends HasMetadata>> CORE = Map.of(
            "apps/v1/Deployment", Deployment.class,
            "v1/Service", Service.class,
            "v1/ConfigMap", ConfigMap.class,
            "v1/Secret", Secret.class,
            "v1/Namespace", Namespace.class);

    /** Custom resources the manifests may use (checked by hand below). */
    private static final Set<String> CUSTOM = Set.of(
            "kafka.strimzi.io/v1/Kafka", "kafka.strimzi.io/v1/KafkaNodePool", "kafka.strimzi.io/v1/KafkaTopic",
            "keda.sh/v1alpha1/ScaledObject", "monitoring.coreos.com/v1/ServiceMonitor");

    private static final Set<String> KUSTOMIZE = Set.of(
            "kustomize.config.k8s.io/v1beta1/Kustomization", "kustomize.config.k8s.io/v1alpha1/Component");

    record Doc(Path file, int index, JsonNode node) {
        String type() {
            return node.path("apiVersion").asText() + "/" + node.path("kind").asText();
        }

        String name() {
            return node.path("metadata").path("name").asText();
        }

        String where() {
            return K8S.relativize(file) + " #" + index + " (" + node.path("kind").asText() + " " + name() + ")";
        }
    }

    private static List<Doc> documents(Path file) throws IOException {
        List<Doc> out = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
            int i = 0;
            while (it.hasNext()) {
                JsonNode n = it.next();
                if (n != null && !n.isNull() && !n.isEmpty()) {
                    out.add(new Doc(file, i, n));
                }
                i++;
            }
        }
        return out;
    }

    private static List<Doc> all() throws IOException {
        List<Doc> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(K8S)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                out.addAll(documents(f));
            }
        }
        return out;
    }

    @Test
    void everyManifestIsAKnownKindAndCoreObjectsHaveNoFieldTheirSchemaLacks() throws Exception {
        List<String> problems = new ArrayList<>();
        int core = 0;
        for (Doc d : all()) {
            String type = d.type();
            if (d.name().isEmpty() && !KUSTOMIZE.contains(type)) {
                problems.add(d.where() + ": no metadata.name");
            }
            Class<? extends HasMetadata> model = CORE.get(type);
            if (model != null) {
                core++;
                HasMetadata typed = YAML.treeToValue(d.node(), model);
                unknownFields(typed, d.node().path("kind").asText(), problems, d.where());
            } else if (!CUSTOM.contains(type) && !KUSTOMIZE.contains(type)) {
                problems.add(d.where() + ": unknown apiVersion/kind " + type);
            }
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
        assertTrue(core >= 14, "core objects checked: " + core);
    }

    /** Fields the typed model did not know end up in additionalProperties: report them with their path. */
    private static void unknownFields(Object o, String path, List<String> problems, String where) throws Exception {
        if (o == null) {
            return;
        }
        if (o instanceof List<?> list) {
            for (int i = 0; i < list.size(); i++) {
                unknownFields(list.get(i), path + "[" + i + "]", problems, where);
            }
            return;
        }
        if (o instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> e : map.entrySet()) {
                unknownFields(e.getValue(), path + "." + e.getKey(), problems, where);
            }
            return;
        }
        if (!o.getClass().getName().startsWith("io.fabric8.kubernetes.api.model") || o instanceof Quantity) {
            return;
        }
        for (Method m : o.getClass().getMethods()) {
            if (m.getParameterCount() != 0 || Modifier.isStatic(m.getModifiers()) || !m.getName().startsWith("get")
                    || m.getDeclaringClass() == Object.class) {
                continue;
            }
            Object v = m.invoke(o);
            if (m.getName().equals("getAdditionalProperties")) {
                if (v instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    problems.add(where + ": " + path + " has fields the Kubernetes schema does not know: " + extra.keySet());
                }
                continue;
            }
            unknownFields(v, path + "." + Character.toLowerCase(m.getName().charAt(3)) + m.getName().substring(4), problems, where);
        }
    }

    @Test
    void customResourcesHaveWhatTheirOperatorsNeedAndAgreeWithEachOther() throws Exception {
        List<Doc> docs = all();
        List<String> problems = new ArrayList<>();
        Map<String, Integer> partitionsByTopic = new LinkedHashMap<>();
        Map<String, JsonNode> topics = new LinkedHashMap<>();
        Set<String> clusters = new TreeSet<>();
        Set<String> deployments = new TreeSet<>();
        List<JsonNode> services = new ArrayList<>();
        for (Doc d : docs) {
            switch (d.type()) {
                case "kafka.strimzi.io/v1/Kafka" -> {
                    clusters.add(d.name());
                    JsonNode k = d.node().path("spec").path("kafka");
                    require(problems, d, k.path("listeners").isArray() && k.path("listeners").size() > 0, "spec.kafka.listeners");
                    require(problems, d, !k.path("version").asText().isEmpty(), "spec.kafka.version");
                }
                case "kafka.strimzi.io/v1/KafkaNodePool" -> {
                    JsonNode s = d.node().path("spec");
                    require(problems, d, s.path("replicas").asInt() > 0, "spec.replicas > 0");
                    require(problems, d, s.path("roles").isArray() && s.path("roles").size() > 0, "spec.roles");
                    require(problems, d, s.has("storage"), "spec.storage");
                }
                case "kafka.strimzi.io/v1/KafkaTopic" -> {
                    JsonNode s = d.node().path("spec");
                    require(problems, d, s.path("partitions").asInt() > 0, "spec.partitions > 0");
                    require(problems, d, s.path("replicas").asInt() > 0, "spec.replicas > 0");
                    String name = s.path("topicName").asText(d.name());
                    partitionsByTopic.put(name, s.path("partitions").asInt());
                    topics.put(name, d.node());
                }
                case "apps/v1/Deployment" -> deployments.add(d.name());
                case "v1/Service" -> services.add(d.node());
                default -> {
                }
            }
        }
        for (Doc d : docs) {
            if (d.type().startsWith("kafka.strimzi.io/") && !d.node().path("kind").asText().equals("Kafka")) {
                String cluster = d.node().path("metadata").path("labels").path("strimzi.io/cluster").asText();
                require(problems, d, clusters.contains(cluster), "label strimzi.io/cluster naming a Kafka of " + clusters);
            }
            if (d.type().equals("keda.sh/v1alpha1/ScaledObject")) {
                JsonNode s = d.node().path("spec");
                String target = s.path("scaleTargetRef").path("name").asText();
                require(problems, d, deployments.contains(target), "spec.scaleTargetRef naming a Deployment of " + deployments);
                int max = s.path("maxReplicaCount").asInt();
                require(problems, d, s.path("triggers").size() > 0, "spec.triggers");
                for (JsonNode t : s.path("triggers")) {
                    JsonNode m = t.path("metadata");
                    require(problems, d, t.path("type").asText().equals("kafka"), "a kafka trigger");
                    require(problems, d, m.path("consumerGroup").asText().equals("fluostream-" + target),
                            "consumerGroup fluostream-" + target + " (the stage's Kafka Streams application id)");
                    String topic = m.path("topic").asText();
                    Integer partitions = partitionsByTopic.get(topic);
                    require(problems, d, partitions != null, "topic " + topic + " declared as a KafkaTopic");
                    require(problems, d, partitions == null || (max >= 1 && max <= partitions),
                            "maxReplicaCount " + max + " within the " + partitions + " partitions of " + topic);
                    require(problems, d, m.path("lagThreshold").asText().matches("\\d+"), "a numeric lagThreshold");
                    require(problems, d, !m.path("bootstrapServers").asText().isEmpty(), "bootstrapServers");
                }
            }
            if (d.type().equals("monitoring.coreos.com/v1/ServiceMonitor")) {
                JsonNode match = d.node().path("spec").path("selector").path("matchLabels");
                List<JsonNode> selected = services.stream().filter(svc -> {
                    Iterator<Map.Entry<String, JsonNode>> it = match.fields();
                    boolean all = it.hasNext();
                    while (it.hasNext()) {
                        Map.Entry<String, JsonNode> e = it.next();
                        all &= svc.path("metadata").path("labels").path(e.getKey()).asText().equals(e.getValue().asText());
                    }
                    return all;
                }).toList();
                require(problems, d, selected.size() == 4, "a selector matching the four stage Services (matched " + selected.size() + ")");
                for (JsonNode ep : d.node().path("spec").path("endpoints")) {
                    String port = ep.path("port").asText();
                    for (JsonNode svc : selected) {
                        boolean has = false;
                        for (JsonNode p : svc.path("spec").path("ports")) {
                            has |= p.path("name").asText().equals(port);
                        }
                        require(problems, d, has, "endpoint port '" + port + "' on Service " + svc.path("metadata").path("name").asText());
                    }
                    require(problems, d, ep.path("path").asText().equals("/q/metrics"), "endpoint path /q/metrics");
                }
            }
        }
        // Every topic the services use is declared, the control topic compacted.
        for (Topic t : Topic.values()) {
            require(problems, null, topics.containsKey(t.defaultName()), "a KafkaTopic for " + t.defaultName());
        }
        JsonNode control = topics.get(Topic.CONTROL.defaultName());
        if (control != null) {
            assertEquals("compact", control.path("spec").path("config").path("cleanup.policy").asText());
            assertEquals(1, control.path("spec").path("partitions").asInt(), "one partition: one order of commands");
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    private static void require(List<String> problems, Doc d, boolean ok, String what) {
        if (!ok) {
            problems.add((d == null ? "k8s" : d.where()) + ": needs " + what);
        }
    }

    @Test
    void everyKustomizationResolvesAndItsPatchesHitSomething() throws Exception {
        List<String> problems = new ArrayList<>();
        try (Stream<Path> files = Files.walk(K8S)) {
            for (Path k : files.filter(p -> p.getFileName().toString().equals("kustomization.yaml")).sorted().toList()) {
                List<Doc> rendered = new ArrayList<>();
                resolve(k.getParent(), rendered, problems, new TreeSet<>());
                JsonNode kz = documents(k).get(0).node();
                for (JsonNode patch : kz.path("patches")) {
                    if (patch.has("path") && !Files.exists(k.getParent().resolve(patch.path("path").asText()))) {
                        continue; // reported by resolve
                    }
                    JsonNode target = patch.path("target");
                    long hits = rendered.stream().filter(d -> matches(d, target)).count();
                    if (hits == 0) {
                        problems.add(K8S.relativize(k) + ": patch " + patch.path("path").asText() + " matches no resource (" + target + ")");
                    }
                }
                for (JsonNode image : kz.path("images")) {
                    String name = image.path("name").asText();
                    boolean used = rendered.stream().anyMatch(d -> d.node().toString().contains("\"image\":\"" + name + ":"));
                    if (!used) {
                        problems.add(K8S.relativize(k) + ": image " + name + " is used by no container");
                    }
                }
                if (k.startsWith(K8S.resolve("overlays"))) {
                    assertTrue(rendered.stream().filter(d -> d.type().equals("apps/v1/Deployment")).count() == 4,
                            K8S.relativize(k) + " renders the four stage Deployments");
                    assertTrue(rendered.stream().anyMatch(d -> d.type().equals("keda.sh/v1alpha1/ScaledObject")),
                            K8S.relativize(k) + " scales by lag");
                }
            }
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    /** Collects the documents a kustomization directory renders (resources and components, recursively). */
    private static void resolve(Path dir, List<Doc> out, List<String> problems, Set<Path> seen) throws IOException {
        if (!seen.add(dir.normalize())) {
            return;
        }
        Path file = dir.resolve("kustomization.yaml");
        if (!Files.exists(file)) {
            problems.add(K8S.relativize(dir) + ": referenced as a kustomization but has no kustomization.yaml");
            return;
        }
        JsonNode kz = documents(file).get(0).node();
        for (String field : List.of("resources", "components")) {
            for (JsonNode r : kz.path(field)) {
                Path p = dir.resolve(r.asText()).normalize();
                if (Files.isDirectory(p)) {
                    if (field.equals("components")) {
                        JsonNode c = documents(p.resolve("kustomization.yaml")).get(0).node();
                        if (!c.path("kind").asText().equals("Component")) {
                            problems.add(K8S.relativize(file) + ": component " + r.asText() + " is not a kind: Component");
                        }
                    }
                    resolve(p, out, problems, seen);
                } else if (Files.exists(p)) {
                    out.addAll(documents(p));
                } else {
                    problems.add(K8S.relativize(file) + ": " + field + " entry " + r.asText() + " does not exist");
                }
            }
        }
        for (JsonNode patch : kz.path("patches")) {
            if (patch.has("path") && !Files.exists(dir.resolve(patch.path("path").asText()))) {
                problems.add(K8S.relativize(file) + ": patch " + patch.path("path").asText() + " does not exist");
            }
        }
    }

    private static boolean matches(Doc d, JsonNode target) {
        if (target.has("kind") && !target.path("kind").asText().equals(d.node().path("kind").asText())) {
            return false;
        }
        if (target.has("name") && !target.path("name").asText().equals(d.name())) {
            return false;
        }
        if (target.has("labelSelector")) {
            for (String term : target.path("labelSelector").asText().split(",")) {
                String[] kv = term.split("=", 2);
                if (!d.node().path("metadata").path("labels").path(kv[0].trim()).asText().equals(kv[1].trim())) {
                    return false;
                }
            }
        }
        return true;
    }

    @Test
    void stageDeploymentsAreProbedBoundedHardenedAndWiredToTheirConfigAndToken() throws Exception {
        List<Doc> base = new ArrayList<>();
        resolve(K8S.resolve("base"), base, new ArrayList<>(), new TreeSet<>());
        Set<String> configMaps = new TreeSet<>();
        Set<String> secrets = new TreeSet<>();
        for (Doc d : base) {
            if (d.type().equals("v1/ConfigMap")) {
                configMaps.add(d.name());
            }
            if (d.type().equals("v1/Secret")) {
                secrets.add(d.name());
            }
        }
        int stages = 0;
        for (Doc d : base) {
            if (!d.type().equals("apps/v1/Deployment")) {
                continue;
            }
            stages++;
            Deployment dep = YAML.treeToValue(d.node(), Deployment.class);
            var pod = dep.getSpec().getTemplate().getSpec();
            assertEquals(Boolean.TRUE, pod.getSecurityContext().getRunAsNonRoot(), d.where());
            Container c = pod.getContainers().get(0);
            assertEquals("stage", c.getName(), d.where());
            assertFalse(c.getSecurityContext().getAllowPrivilegeEscalation(), d.where());
            assertTrue(c.getSecurityContext().getReadOnlyRootFilesystem(), d.where());
            assertEquals(List.of("ALL"), c.getSecurityContext().getCapabilities().getDrop(), d.where());
            assertTrue(c.getReadinessProbe() != null && c.getLivenessProbe() != null && c.getStartupProbe() != null, d.where());
            assertTrue(c.getResources().getRequests().containsKey("memory") && c.getResources().getLimits().containsKey("memory"), d.where());
            EnvVar token = c.getEnv().stream().filter(e -> e.getName().equals("FLUOSTREAM_CONTROL_TOKEN")).findFirst().orElseThrow();
            assertTrue(secrets.contains(token.getValueFrom().getSecretKeyRef().getName()), d.where() + ": token Secret exists");
            for (Volume v : pod.getVolumes()) {
                if (v.getConfigMap() != null) {
                    assertTrue(configMaps.contains(v.getConfigMap().getName()), d.where() + ": ConfigMap " + v.getConfigMap().getName());
                }
            }
            assertTrue(pod.getVolumes().stream().anyMatch(v -> v.getConfigMap() != null && v.getConfigMap().getName().equals(d.name() + "-config")),
                    d.where() + " mounts its ConfigMap");
        }
        assertEquals(4, stages);
    }

    @Test
    void theGpuOverlayGivesEveryStageOneGpuAndTheGpuPath() throws Exception {
        Deployment patch = YAML.treeToValue(documents(K8S.resolve("overlays/gpu/device-gpu.yaml")).get(0).node(), Deployment.class);
        Container c = patch.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertEquals(new Quantity("1"), c.getResources().getLimits().get("nvidia.com/gpu"));
        assertEquals("gpu", c.getEnv().stream().filter(e -> e.getName().equals("FLUOSTREAM_DEVICE")).findFirst().orElseThrow().getValue());
        Deployment cpu = YAML.treeToValue(documents(K8S.resolve("overlays/cpu/device-cpu.yaml")).get(0).node(), Deployment.class);
        assertEquals("cpu", cpu.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv().get(0).getValue());
    }
}
