package com.example.alarmcast;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;

/** A Spring Boot backend that publishes to alarmcast and hands its Vue page connection tokens. */
@SpringBootApplication
@EnableConfigurationProperties(AlarmcastProperties.class)
public class AlarmcastApplication {
    public static void main(String[] args) {
        SpringApplication.run(AlarmcastApplication.class, args);
    }
}
