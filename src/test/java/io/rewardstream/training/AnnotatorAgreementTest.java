package io.rewardstream.training;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class AnnotatorAgreementTest {

    static StoredPair label(String id, String annotator, String prompt, String chosen, String rejected) {
        return new StoredPair(id, null, prompt, null, chosen, null, rejected, null, 0, annotator, "t", 0, 0);
    }

    @Test
    void shouldMeasureAgreementWithTheMajorityPerAnnotatorAndOverall() {
        List<StoredPair> pairs = List.of(
                // group 1: a, b, c say 4 > 5; d says 5 > 4 (order of the two responses does not matter)
                label("1", "a", "2+2=", "4", "5"), label("2", "b", "2+2=", "4", "5"),
                label("3", "c", "2+2=", "4", "5"), label("4", "d", "2+2=", "5", "4"),
                // group 2: a and d agree
                label("5", "a", "3+3=", "6", "7"), label("6", "d", "3+3=", "6", "7"),
                // single label: no group
                label("7", "b", "1+1=", "2", "3"));
        AnnotatorAgreement ag = AnnotatorAgreement.of(pairs);
        assertThat(ag.groups()).isEqualTo(2);
        assertThat(ag.overall()).isCloseTo(5.0 / 6, within(1e-12));
        assertThat(ag.perAnnotator()).containsEntry("a", 1.0).containsEntry("b", 1.0).containsEntry("c", 1.0)
                .containsEntry("d", 0.5);
        assertThat(ag.asMap()).containsEntry("annotator_agreement.d", 0.5).containsKey("annotator_agreement");
    }

    @Test
    void shouldCountATieAsHalfAgreementAndDropLowAgreementGroups() {
        List<StoredPair> pairs = List.of(
                label("1", "a", "q", "x", "y"), label("2", "b", "q", "y", "x"),       // tie: 0.5
                label("3", "a", "r", "x", "y"), label("4", "b", "r", "x", "y"),       // 1.0
                label("5", "c", "s", "x", "y"));                                      // single
        AnnotatorAgreement ag = AnnotatorAgreement.of(pairs);
        assertThat(ag.overall()).isCloseTo(0.75, within(1e-12));
        assertThat(ag.dropBelow(pairs, 0.6)).extracting(StoredPair::id).containsExactly("3", "4", "5");
        assertThat(ag.dropBelow(pairs, 0.5)).hasSize(5);
    }

    @Test
    void shouldNotTakeLabelsOfDifferentObjectivesAsAnnotatorsDisagreeing() {
        // one annotator each: "concise" prefers the short answer, "correct" the long one, on the same two responses
        List<StoredPair> pairs = List.of(label("1", "a", "q", "short", "long").withObjective("concise"),
                label("2", "b", "q", "long", "short").withObjective("correct"));
        AnnotatorAgreement ag = AnnotatorAgreement.of(pairs);
        assertThat(ag.groups()).as("no multi-label group").isZero();
        assertThat(ag.dropBelow(pairs, 0.6)).as("both kept for their heads").hasSize(2);
    }

    @Test
    void shouldReportNoAgreementWithoutMultiLabelGroups() {
        AnnotatorAgreement ag = AnnotatorAgreement.of(List.of(label("1", "a", "q", "x", "y")));
        assertThat(ag.groups()).isZero();
        assertThat(ag.overall()).isNaN();
        assertThat(ag.asMap()).doesNotContainKey("annotator_agreement");
    }
}
