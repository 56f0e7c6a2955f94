// The broker's requests by type over a window: rate and time in the request handler
// (LocalTimeMs), read from its RequestMetrics MBeans through the JDK's attach API, so
// the broker needs no JMX port. Run beside a load, as the broker's user:
//   java bench/tools/BrokerRequests.java $(pgrep -f kafka.Kafka | head -1) 10
import com.sun.tools.attach.VirtualMachine;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public class BrokerRequests {
  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: java bench/tools/BrokerRequests.java <broker pid> <seconds>");
      System.exit(2);
    }
    VirtualMachine vm = VirtualMachine.attach(args[0]);
    String address = vm.startLocalManagementAgent();
    MBeanServerConnection c = JMXConnectorFactory.connect(new JMXServiceURL(address)).getMBeanServerConnection();
    int seconds = Integer.parseInt(args[1]);
    Map<String, Long> countsBefore = counts(c);
    Map<String, Double> localBefore = localMs(c);
    Thread.sleep(seconds * 1000L);
    Map<String, Long> countsAfter = counts(c);
    Map<String, Double> localAfter = localMs(c);
    List<String> types = new ArrayList<>(countsAfter.keySet());
    types.sort((x, y) -> Long.compare(countsAfter.get(y) - countsBefore.getOrDefault(y, 0L), countsAfter.get(x) - countsBefore.getOrDefault(x, 0L)));
    long total = 0;
    System.out.printf("%-32s %10s %16s %12s%n", "request", "per s", "handler ms/req", "handler ms/s");
    for (String type : types) {
      long n = countsAfter.get(type) - countsBefore.getOrDefault(type, 0L);
      if (n <= 0) continue;
      // FetchConsumer and FetchFollower are the Fetch requests again, by sender.
      if (!type.startsWith("Fetch") || type.equals("Fetch")) total += n;
      double ms = localAfter.getOrDefault(type, 0.0) - localBefore.getOrDefault(type, 0.0);
      System.out.printf("%-32s %10.1f %16.3f %12.1f%n", type, n / (double) seconds, ms / n, ms / seconds);
    }
    System.out.printf("%-32s %10.1f%n", "all", total / (double) seconds);
  }

  private static Map<String, Long> counts(MBeanServerConnection c) throws Exception {
    Map<String, Long> m = new HashMap<>();
    for (ObjectName n : c.queryNames(new ObjectName("kafka.network:type=RequestMetrics,name=RequestsPerSec,*"), null)) {
      m.merge(n.getKeyProperty("request"), ((Number) c.getAttribute(n, "Count")).longValue(), Long::sum);
    }
    return m;
  }

  // The histogram's count times its mean: the handler time summed since the start.
  private static Map<String, Double> localMs(MBeanServerConnection c) throws Exception {
    Map<String, Double> m = new HashMap<>();
    for (ObjectName n : c.queryNames(new ObjectName("kafka.network:type=RequestMetrics,name=LocalTimeMs,*"), null)) {
      double sum = ((Number) c.getAttribute(n, "Count")).longValue() * ((Number) c.getAttribute(n, "Mean")).doubleValue();
      m.merge(n.getKeyProperty("request"), sum, Double::sum);
    }
    return m;
  }
}
