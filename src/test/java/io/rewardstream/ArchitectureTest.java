package io.rewardstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Package boundaries of the main code. Rules on packages that do not exist yet pass (allowEmptyShould) so the
 * test can land before them, but still bite as soon as a class appears.
 */
class ArchitectureTest {

    private static JavaClasses classes;

    @BeforeAll
    static void importMainClasses() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
                .importPackages("io.rewardstream");
    }

    @Test
    void shouldKeepKafkaOutOfScoring() {
        check(noClasses().that().resideInAPackage("io.rewardstream.scoring..")
                .should().dependOnClassesThat().resideInAPackage("org.apache.kafka..")
                .because("scoring is pure model runtime and reward maths, testable without a broker"));
    }

    @Test
    void shouldKeepTrainingIndependentOfTopology() {
        check(noClasses().that().resideInAPackage("io.rewardstream.training..")
                .should().dependOnClassesThat().resideInAPackage("io.rewardstream.topology..")
                .because("the retraining job must not pull in the Streams topology"));
    }

    @Test
    void shouldKeepSchemaAtTheBottom() {
        check(noClasses().that().resideInAPackage("io.rewardstream.schema..")
                .should().dependOnClassesThat().resideInAnyPackage("io.rewardstream.topology..",
                        "io.rewardstream.training..", "io.rewardstream.scoring..")
                .because("serdes and the registry client are shared by everything above them"));
    }

    @Test
    void shouldKeepConfigAtTheBottom() {
        check(noClasses().that().resideInAPackage("io.rewardstream.config..")
                .should().dependOnClassesThat().resideOutsideOfPackages("io.rewardstream.config..", "java..")
                .because("every package reads its configuration through it, scoring and schema included"));
    }

    @Test
    void shouldKeepFilesAtTheBottom() {
        check(noClasses().that().resideInAPackage("io.rewardstream.files..")
                .should().dependOnClassesThat().resideOutsideOfPackages("io.rewardstream.files..", "java..")
                .because("the CLI, training, release and the dev stack all delete trees through it"));
    }

    @Test
    void shouldKeepDevIndependentOfTopology() {
        check(noClasses().that().resideInAPackage("io.rewardstream.dev..")
                .should().dependOnClassesThat().resideInAPackage("io.rewardstream.topology..")
                .because("the dev stack is infrastructure; the dev-stack CLI does the provisioning"));
    }

    @Test
    void shouldKeepTheGatewayAServiceOverTopics() {
        check(noClasses().that().resideInAPackage("io.rewardstream.gateway..")
                .should().dependOnClassesThat().resideInAnyPackage("io.rewardstream.topology..",
                        "io.rewardstream.training..", "io.rewardstream.dev..")
                .because("the gateway only talks to the scorer through its topics; it never scores itself"));
        check(noClasses().that().resideOutsideOfPackages("io.rewardstream.gateway..", "io.rewardstream.cli..")
                .should().dependOnClassesThat().resideInAPackage("io.rewardstream.gateway..")
                .because("the gateway is an edge service used by the CLI only"));
    }

    @Test
    void shouldLetOnlyCliDependOnCli() {
        check(noClasses().that().resideOutsideOfPackage("io.rewardstream.cli..")
                .should().dependOnClassesThat().resideInAPackage("io.rewardstream.cli..")
                .because("the CLI is the outermost layer"));
    }

    @Test
    void shouldKeepScoringFreeOfTopologyAndTraining() {
        check(noClasses().that().resideInAPackage("io.rewardstream.scoring..")
                .should().dependOnClassesThat().resideInAnyPackage("io.rewardstream.topology..",
                        "io.rewardstream.training..", "io.rewardstream.release..")
                .because("the scoring pipeline is used by the scorer, the bench and the CLI alike"));
    }

    @Test
    void shouldKeepReleaseFreeOfTopologyAndTraining() {
        check(noClasses().that().resideInAPackage("io.rewardstream.release..")
                .should().dependOnClassesThat().resideInAnyPackage("io.rewardstream.topology..",
                        "io.rewardstream.training..")
                .because("signing, verifying, publishing and watching releases serve both the scorer and the"
                        + " retraining job"));
    }

    @Test
    void shouldHaveNoPackageCycles() {
        check(slices().matching("io.rewardstream.(*)..").should().beFreeOfCycles());
    }

    @Test
    void shouldImportMainClassesAndDetectAViolation() {
        // Guards against vacuous rules: the import sees main code, and the rule shape bites on a real dependency.
        assertThat(classes.contain("io.rewardstream.cli.Main")).isTrue();
        assertThat(classes.stream().noneMatch(c -> c.getSimpleName().endsWith("Test"))).isTrue();
        ArchRule topologyWithoutKafka = noClasses().that().resideInAPackage("io.rewardstream.topology..")
                .should().dependOnClassesThat().resideInAPackage("org.apache.kafka..");
        assertThatThrownBy(() -> topologyWithoutKafka.check(classes)).isInstanceOf(AssertionError.class);
    }

    private static void check(ArchRule rule) {
        rule.allowEmptyShould(true).check(classes);
    }
}
