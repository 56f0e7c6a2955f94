// Kafka's DeleteRecords for the tests: moves partitions' log start offsets forward, as
// `kafka-delete-records.sh` does (node-rdkafka's admin client has no such call, and the
// broker's jars fetched for the tests have kafka-clients but not the tools). Run as a
// single source file (java 11+) with .infra/kafka-libs on the class path:
//
//   java -cp '.infra/kafka-libs/*' test/support/DeleteRecords.java BOOTSTRAP TOPIC:PARTITION:OFFSET...
//
// The broker refuses DeleteRecords on a topic whose cleanup.policy is compact only (a
// changelog): such a topic's policy is made compact,delete first, as an operator who
// adds retention to it does. Prints each partition's new log start offset.
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DeletedRecords;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;

public class DeleteRecords {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    Map<TopicPartition, RecordsToDelete> wanted = new HashMap<>();
    for (int i = 1; i < args.length; i++) {
      int b = args[i].lastIndexOf(':');
      int a = args[i].lastIndexOf(':', b - 1);
      TopicPartition tp = new TopicPartition(args[i].substring(0, a), Integer.parseInt(args[i].substring(a + 1, b)));
      wanted.put(tp, RecordsToDelete.beforeOffset(Long.parseLong(args[i].substring(b + 1))));
    }
    try (Admin admin = Admin.create(props)) {
      Map<ConfigResource, Collection<AlterConfigOp>> policies = new HashMap<>();
      for (TopicPartition tp : wanted.keySet()) {
        ConfigEntry entry = new ConfigEntry(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT + "," + TopicConfig.CLEANUP_POLICY_DELETE);
        policies.put(new ConfigResource(ConfigResource.Type.TOPIC, tp.topic()), List.of(new AlterConfigOp(entry, AlterConfigOp.OpType.SET)));
      }
      admin.incrementalAlterConfigs(policies).all().get();
      for (Map.Entry<TopicPartition, KafkaFuture<DeletedRecords>> e : admin.deleteRecords(wanted).lowWatermarks().entrySet()) {
        System.out.println(e.getKey() + " " + e.getValue().get().lowWatermark());
      }
    }
  }
}
