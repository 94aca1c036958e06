// Starts DynamoDB Local exactly as its own main() does, but bound to 127.0.0.1.
//
// DynamoDB Local has no bind-address option: its Jetty connector listens on every interface, so anyone who
// can reach this machine could read and rewrite the local event log. We build the server with its own
// command-line parser, set the host of its (not yet started) connectors, then start it.
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class LoopbackDynamoDB {
    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        for (Connector connector : server.getConnectors()) {
            ((ServerConnector) connector).setHost("127.0.0.1");
        }
        proxy.start();
        System.out.println("LAPOR: DynamoDB Local listening on 127.0.0.1 only");
        System.out.flush();
        proxy.join();
    }
}
