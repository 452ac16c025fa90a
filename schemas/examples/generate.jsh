import io.rewardstream.training.*;
import com.fasterxml.jackson.databind.*;
import java.nio.file.*;
var json = new ObjectMapper();
var mul = new ArithmeticTask(ArithmeticTask.Config.defaults().withOps(java.util.List.of(ArithmeticTask.Operation.MUL)).withVerbosityTrap(0).withHeldOutOperands(0).withSeed(17));
var sb = new StringBuilder();
int i = 0;
for (var e : mul.generate(400, ArithmeticTask.Part.ANY, false)) {
  var o = json.createObjectNode();
  o.put("pair_id", "example-mul-" + (i++)); o.put("prompt_text", e.prompt()); o.put("chosen_text", e.chosen()); o.put("rejected_text", e.rejected()); o.put("annotator_id", "verifier"); o.put("source", "arithmetic-example");
  sb.append(json.writeValueAsString(o)).append("\n");
}
Files.writeString(Path.of("schemas/examples/preferences.jsonl"), sb.toString());
var add = new ArithmeticTask(ArithmeticTask.Config.defaults().withSeed(3));
var rs = new StringBuilder();
var rnd = new java.util.Random(5);
for (int g = 0; g < 3; g++) {
  for (int k = 0; k < 4; k++) {
    var s = add.sample(rnd, rnd.nextBoolean());
    var o = json.createObjectNode();
    o.put("rollout_id", "example-g" + g + "-" + k); o.put("group_id", "example-g" + g); o.put("group_size", 4); o.put("policy_version", "step-1");
    var pi = o.putArray("prompt_token_ids"); for (byte b : s.prompt().getBytes()) pi.add(b & 0xff);
    var ri = o.putArray("response_token_ids"); for (byte b : s.answer().getBytes()) ri.add(b & 0xff);
    o.put("prompt_text", s.prompt()); o.put("response_text", s.answer());
    var pl = o.putArray("policy_logprobs"); var rl = o.putArray("reference_logprobs");
    for (int t = 0; t < s.answer().getBytes().length; t++) { double p = -0.1 - rnd.nextDouble(); pl.add(Math.round(p*1000)/1000.0); rl.add(Math.round((p - 0.05)*1000)/1000.0); }
    o.put("finish_reason", "STOP");
    rs.append(json.writeValueAsString(o)).append("\n");
  }
}
Files.writeString(Path.of("schemas/examples/rollouts.jsonl"), rs.toString());
/exit
